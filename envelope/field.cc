#include "envelope/field.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <mutex>
#include <new>

#include "envelope/internal/aead_primitives.h"
#include "envelope/internal/base64url.h"
#include "envelope/internal/kdf.h"
#include "envelope/internal/nonce_source.h"

namespace keyward::envelope {
namespace {

constexpr std::size_t kHeaderBytes = 2 + kDekIdBytes;
constexpr std::size_t kNonceBytes = 12, kTag = 16;

std::vector<std::uint8_t> field_header(std::uint8_t version, FieldSuite suite, const DekId& id) {
  std::vector<std::uint8_t> header(kHeaderBytes);
  header[0] = version;
  header[1] = static_cast<std::uint8_t>(suite);
  std::memcpy(header.data() + 2, id.data(), id.size());
  return header;
}

// Field operations return errors, never throw: a failed allocation (a plaintext buffer larger
// than the memory left) becomes an internal error here, at the API boundary.
template <class Operation>
auto without_exceptions(Operation&& operation) -> decltype(operation()) {
  try {
    return operation();
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCategory::internal, "out of memory for a field value (values hold at most " +
                                                   std::to_string(kMaxFieldValueBytes) + " bytes)");
  }
}

EVP_MAC* hmac() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

}  // namespace

class FieldKey::ContextPool {
 public:
  using Factory = evp_cipher_ctx_st* (*)(const SecretBytes& key, bool encrypt);
  ContextPool(const SecretBytes& key, bool encrypt, Factory make) : key_(key.clone()), encrypt_(encrypt), make_(make) {}
  ~ContextPool() {
    for (auto* ctx : idle_) EVP_CIPHER_CTX_free(ctx);
  }
  // A keyed context for the duration of one call.
  template <class Use>
  auto with_context(Use&& use) -> decltype(use(static_cast<EVP_CIPHER_CTX*>(nullptr))) {
    EVP_CIPHER_CTX* ctx = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        ctx = idle_.back();
        idle_.pop_back();
      }
    }
    if (ctx == nullptr) ctx = make_(key_, encrypt_);
    if (ctx == nullptr) return make_error(ErrorCategory::internal, "cipher set-up failed");
    auto result = use(ctx);
    std::lock_guard lock(mutex_);
    idle_.push_back(ctx);
    return result;
  }

 private:
  SecretBytes key_;
  bool encrypt_;
  Factory make_;
  std::mutex mutex_;
  std::vector<EVP_CIPHER_CTX*> idle_;
};

Result<ParsedField> parse_field(std::string_view text) {
  // Checked before decoding: no allocation for a value keyward never writes.
  if (text.size() > kMaxFieldTextBytes)
    return make_error(ErrorCategory::corrupt_input, "encrypted field value is longer than any keyward writes (values hold at most " +
                                                        std::to_string(kMaxFieldValueBytes) + " bytes)");
  ParsedField field;
  // Decoded straight into `body`, the header then moved out of its front: two allocations per value.
  std::vector<std::uint8_t>& bytes = field.body;
  KW_TRY(base64url_decode_into(text, bytes));
  if (bytes.size() < kHeaderBytes + kTag) return make_error(ErrorCategory::corrupt_input, "encrypted field value is too short");
  field.version = bytes[0];
  if (field.version != kFieldVersion && field.version != kFieldVersionUnscoped)
    return make_error(ErrorCategory::corrupt_input, "encrypted field version " + std::to_string(field.version) + " is unknown");
  if (bytes[1] != static_cast<std::uint8_t>(FieldSuite::randomized) && bytes[1] != static_cast<std::uint8_t>(FieldSuite::deterministic))
    return make_error(ErrorCategory::corrupt_input, "encrypted field suite " + std::to_string(bytes[1]) + " is unknown");
  field.suite = static_cast<FieldSuite>(bytes[1]);
  if (field.suite == FieldSuite::randomized && bytes.size() < kHeaderBytes + kNonceBytes + kTag)
    return make_error(ErrorCategory::corrupt_input, "encrypted field value is too short");
  std::memcpy(field.dek_id.data(), bytes.data() + 2, kDekIdBytes);
  field.header.assign(bytes.begin(), bytes.begin() + kHeaderBytes);
  bytes.erase(bytes.begin(), bytes.begin() + kHeaderBytes);
  return field;
}

Result<FieldKey> FieldKey::derive(const SecretBytes& dek, const DekId& dek_id, std::string_view scope) {
  if (dek.size() != 32) return make_error(ErrorCategory::usage, "a DEK is 32 bytes");
  if (scope.size() > 0xFFFF) return make_error(ErrorCategory::usage, "a scope is at most 65535 bytes");
  FieldKey key;
  key.dek_id_ = dek_id;
  key.scope_ = std::string(scope);
  key.scope_aad_ = {static_cast<std::uint8_t>(scope.size() >> 8), static_cast<std::uint8_t>(scope.size())};
  key.scope_aad_.insert(key.scope_aad_.end(), scope.begin(), scope.end());
  KW_ASSIGN_OR_RETURN(key.gcm_key_, hkdf_sha256(dek, {}, "keyward/field/v1 randomized AES-256-GCM", 32));
  KW_ASSIGN_OR_RETURN(key.siv_key_, hkdf_sha256(dek, {}, "keyward/field/v1 deterministic AES-256-SIV", 64));
  KW_ASSIGN_OR_RETURN(key.index_key_, hkdf_sha256(dek, {}, "keyward/field/v1 blind index HMAC-SHA-256", 32));
  // The associated data before the context is fixed per (version, suite) for one DEK: built once.
  for (std::uint8_t version : {kFieldVersionUnscoped, kFieldVersion})
    for (FieldSuite suite : {FieldSuite::randomized, FieldSuite::deterministic})
      key.aad_prefixes_[prefix_index(version, suite)] = key.header_aad(field_header(version, suite, dek_id));
  key.sealers_ = std::make_shared<ContextPool>(key.gcm_key_, true, new_keyed_gcm_context);
  key.openers_ = std::make_shared<ContextPool>(key.gcm_key_, false, new_keyed_gcm_context);
  key.siv_sealers_ = std::make_shared<ContextPool>(key.siv_key_, true, new_keyed_siv_context);
  key.siv_openers_ = std::make_shared<ContextPool>(key.siv_key_, false, new_keyed_siv_context);
  return key;
}

const std::vector<std::uint8_t>& FieldKey::aad_prefix(std::span<const std::uint8_t> header, std::vector<std::uint8_t>& storage) const {
  // A parsed header names this DEK (checked by the caller); its version and suite pick the prefix.
  // Anything else (a hand-made ParsedField) gets its own, built from the header as given.
  const bool known = header.size() == kHeaderBytes && (header[0] == kFieldVersion || header[0] == kFieldVersionUnscoped) &&
                     (header[1] == 1 || header[1] == 2);
  if (known) {
    const auto& prefix = aad_prefixes_[prefix_index(header[0], static_cast<FieldSuite>(header[1]))];
    if (std::memcmp(prefix.data(), header.data(), kHeaderBytes) == 0) return prefix;
  }
  storage = header_aad(header);
  return storage;
}

std::vector<std::uint8_t> FieldKey::header_aad(std::span<const std::uint8_t> header) const {
  std::vector<std::uint8_t> aad(header.begin(), header.end());
  if (header[0] != kFieldVersionUnscoped) aad.insert(aad.end(), scope_aad_.begin(), scope_aad_.end());
  return aad;
}

Result<std::string> FieldKey::encrypt(std::span<const std::uint8_t> plain, FieldSuite suite, const EncodedContext& context,
                                      std::uint8_t version) const {
  if (plain.size() > kMaxFieldValueBytes)
    return make_error(ErrorCategory::policy, "the value is " + std::to_string(plain.size()) + " bytes; field values hold at most " +
                                                 std::to_string(kMaxFieldValueBytes) + " bytes (docs/FIELDS.md): encrypt it as a file");
  if (version != kFieldVersion && version != kFieldVersionUnscoped)
    return make_error(ErrorCategory::usage, "field value version " + std::to_string(version) + " is unknown");
  if (context.has_empty_key) return make_error(ErrorCategory::usage, "a context key may not be empty");
  return without_exceptions([&] { return encrypt_unguarded(plain, suite, context, version); });
}

Result<std::string> FieldKey::encrypt_unguarded(std::span<const std::uint8_t> plain, FieldSuite suite,
                                                const EncodedContext& context, std::uint8_t version) const {
  // The sealed bytes (ciphertext only, no secret) go through a per-thread buffer before the text is
  // made: no allocation per value but the text's own.
  thread_local std::vector<std::uint8_t> out;
  const std::vector<std::uint8_t>& aad = aad_prefixes_[prefix_index(version, suite)];
  out.assign(aad.begin(), aad.begin() + kHeaderBytes);
  const auto& encoded_context = context.bytes;
  if (suite == FieldSuite::randomized) {
    std::uint8_t nonce[kNonceBytes];
    KW_TRY(fill_nonce(nonce));
    out.resize(kHeaderBytes + kNonceBytes);
    std::memcpy(out.data() + kHeaderBytes, nonce, kNonceBytes);
    // GCM associated data: header ‖ (version 2) scope component ‖ context.
    KW_TRY(sealers_->with_context(
        [&](EVP_CIPHER_CTX* ctx) { return gcm_seal_keyed(ctx, nonce, aad, plain, out, encoded_context); }));
  } else {
    const std::span<const std::uint8_t> header(aad.data(), kHeaderBytes);
    const std::span<const std::uint8_t> scope(aad.data() + kHeaderBytes, aad.size() - kHeaderBytes);
    // S2V components: header, (version 2) scope component, context.
    std::vector<std::span<const std::uint8_t>> components{header};
    if (version != kFieldVersionUnscoped) components.push_back(scope);
    components.push_back(encoded_context);
    // The deterministic suite seals 0x00 ‖ value: OpenSSL's EVP interface cannot run AES-SIV on an
    // empty message, and empty column values must still encrypt (docs/FIELDS.md).
    SecretBytes framed(plain.size() + 1);
    if (!plain.empty()) std::memcpy(framed.reveal_mutable().data() + 1, plain.data(), plain.size());
    KW_TRY(siv_sealers_->with_context(
        [&](EVP_CIPHER_CTX* pristine) { return siv_seal_keyed(pristine, components, framed.reveal(), out); }));
  }
  return base64url_encode(out);
}

Result<SecretBytes> FieldKey::decrypt(const ParsedField& field, const EncodedContext& context) const {
  if (field.dek_id != dek_id_) return make_error(ErrorCategory::usage, "the value was encrypted under another DEK");
  if (field.header.size() != kHeaderBytes) return make_error(ErrorCategory::corrupt_input, "the value's header is malformed");
  if (context.has_empty_key) return make_error(ErrorCategory::usage, "a context key may not be empty");
  return without_exceptions([&] { return decrypt_unguarded(field, context); });
}

Result<SecretBytes> FieldKey::decrypt_unguarded(const ParsedField& field, const EncodedContext& context) const {
  const auto& encoded_context = context.bytes;
  std::vector<std::uint8_t> storage;
  const std::vector<std::uint8_t>& aad = aad_prefix(field.header, storage);
  if (field.suite == FieldSuite::randomized) {
    return openers_->with_context([&](EVP_CIPHER_CTX* ctx) {
      return gcm_open_keyed(ctx, std::span(field.body).first(kNonceBytes), aad, std::span(field.body).subspan(kNonceBytes),
                            encoded_context);
    });
  }
  const std::span<const std::uint8_t> header(aad.data(), kHeaderBytes);
  const std::span<const std::uint8_t> scope(aad.data() + kHeaderBytes, aad.size() - kHeaderBytes);
  std::vector<std::span<const std::uint8_t>> components{header};
  if (field.version != kFieldVersionUnscoped) components.push_back(scope);
  components.push_back(encoded_context);
  KW_ASSIGN_OR_RETURN(auto framed, siv_openers_->with_context(
                                       [&](EVP_CIPHER_CTX* pristine) { return siv_open_keyed(pristine, components, field.body); }));
  if (framed.empty() || framed.reveal()[0] != 0)
    return make_error(ErrorCategory::authentication, "the value failed authentication (bad framing)");
  // Strip the framing byte in place: a copy would hold a second value-sized secret at once.
  auto bytes = framed.reveal_mutable();
  std::memmove(bytes.data(), bytes.data() + 1, bytes.size() - 1);
  framed.shrink_to(bytes.size() - 1);
  return framed;
}

Result<std::string> FieldKey::blind_index(std::span<const std::uint8_t> value, const EncryptionContext& context,
                                          std::size_t length) const {
  if (length < 4 || length > 32) return make_error(ErrorCategory::usage, "a blind index is 4 to 32 bytes");
  if (hmac() == nullptr) return make_error(ErrorCategory::internal, "HMAC is not available in OpenSSL");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac());
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  const auto encoded_context = encode_context(context);
  unsigned char mac[32];
  std::size_t mac_length = 0;
  bool ok = ctx && EVP_MAC_init(ctx, index_key_.reveal().data(), index_key_.size(), params) == 1 &&
            EVP_MAC_update(ctx, encoded_context.data(), encoded_context.size()) == 1 &&
            EVP_MAC_update(ctx, value.data(), value.size()) == 1 && EVP_MAC_final(ctx, mac, &mac_length, sizeof mac) == 1;
  EVP_MAC_CTX_free(ctx);
  if (!ok) return make_error(ErrorCategory::internal, "HMAC-SHA-256 failed");
  return base64url_encode(std::span<const std::uint8_t>(mac, length));
}

}  // namespace keyward::envelope
