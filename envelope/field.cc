#include "envelope/field.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <mutex>

#include "envelope/aead_primitives.h"
#include "envelope/base64url.h"
#include "envelope/kdf.h"
#include "envelope/nonce_source.h"

namespace keyward::envelope {
namespace {

constexpr std::size_t kHeaderBytes = 2 + kDekIdBytes;
constexpr std::size_t kNonceBytes = 12, kTag = 16;

std::vector<std::uint8_t> field_header(FieldSuite suite, const DekId& id) {
  std::vector<std::uint8_t> header(kHeaderBytes);
  header[0] = kFieldVersion;
  header[1] = static_cast<std::uint8_t>(suite);
  std::memcpy(header.data() + 2, id.data(), id.size());
  return header;
}

std::array<std::uint8_t, kHeaderBytes> header_of(const std::vector<std::uint8_t>& value) {
  std::array<std::uint8_t, kHeaderBytes> header{};
  std::memcpy(header.data(), value.data(), kHeaderBytes);
  return header;
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
  KW_ASSIGN_OR_RETURN(auto bytes, base64url_decode(text));
  if (bytes.size() < kHeaderBytes + kTag) return make_error(ErrorCategory::corrupt_input, "encrypted field value is too short");
  ParsedField field;
  field.version = bytes[0];
  if (field.version != kFieldVersion)
    return make_error(ErrorCategory::corrupt_input, "encrypted field version " + std::to_string(field.version) + " is unknown");
  if (bytes[1] != static_cast<std::uint8_t>(FieldSuite::randomized) && bytes[1] != static_cast<std::uint8_t>(FieldSuite::deterministic))
    return make_error(ErrorCategory::corrupt_input, "encrypted field suite " + std::to_string(bytes[1]) + " is unknown");
  field.suite = static_cast<FieldSuite>(bytes[1]);
  if (field.suite == FieldSuite::randomized && bytes.size() < kHeaderBytes + kNonceBytes + kTag)
    return make_error(ErrorCategory::corrupt_input, "encrypted field value is too short");
  std::memcpy(field.dek_id.data(), bytes.data() + 2, kDekIdBytes);
  field.header.assign(bytes.begin(), bytes.begin() + kHeaderBytes);
  field.body.assign(bytes.begin() + kHeaderBytes, bytes.end());
  return field;
}

Result<FieldKey> FieldKey::derive(const SecretBytes& dek, const DekId& dek_id) {
  if (dek.size() != 32) return make_error(ErrorCategory::usage, "a DEK is 32 bytes");
  FieldKey key;
  key.dek_id_ = dek_id;
  KW_ASSIGN_OR_RETURN(key.gcm_key_, hkdf_sha256(dek, {}, "keyward/field/v1 randomized AES-256-GCM", 32));
  KW_ASSIGN_OR_RETURN(key.siv_key_, hkdf_sha256(dek, {}, "keyward/field/v1 deterministic AES-256-SIV", 64));
  KW_ASSIGN_OR_RETURN(key.index_key_, hkdf_sha256(dek, {}, "keyward/field/v1 blind index HMAC-SHA-256", 32));
  key.sealers_ = std::make_shared<ContextPool>(key.gcm_key_, true, new_keyed_gcm_context);
  key.openers_ = std::make_shared<ContextPool>(key.gcm_key_, false, new_keyed_gcm_context);
  key.siv_sealers_ = std::make_shared<ContextPool>(key.siv_key_, true, new_keyed_siv_context);
  key.siv_openers_ = std::make_shared<ContextPool>(key.siv_key_, false, new_keyed_siv_context);
  return key;
}

Result<std::string> FieldKey::encrypt(std::span<const std::uint8_t> plain, FieldSuite suite,
                                      const EncodedContext& context) const {
  std::vector<std::uint8_t> out = field_header(suite, dek_id_);
  const auto& encoded_context = context.bytes;
  if (suite == FieldSuite::randomized) {
    std::uint8_t nonce[kNonceBytes];
    KW_TRY(fill_nonce(nonce));
    out.reserve(kHeaderBytes + kNonceBytes + plain.size() + kTag);
    out.resize(kHeaderBytes + kNonceBytes);
    std::memcpy(out.data() + kHeaderBytes, nonce, kNonceBytes);
    const std::array<std::uint8_t, kHeaderBytes> header = header_of(out);
    KW_TRY(sealers_->with_context(
        [&](EVP_CIPHER_CTX* ctx) { return gcm_seal_keyed(ctx, nonce, header, plain, out, encoded_context); }));
  } else {
    const std::vector<std::uint8_t> header(out.begin(), out.end());
    const std::span<const std::uint8_t> components[] = {header, encoded_context};
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
  const auto& encoded_context = context.bytes;
  if (field.suite == FieldSuite::randomized) {
    return openers_->with_context([&](EVP_CIPHER_CTX* ctx) {
      return gcm_open_keyed(ctx, std::span(field.body).first(kNonceBytes), field.header,
                            std::span(field.body).subspan(kNonceBytes), encoded_context);
    });
  }
  const std::span<const std::uint8_t> components[] = {field.header, encoded_context};
  KW_ASSIGN_OR_RETURN(auto framed, siv_openers_->with_context(
                                       [&](EVP_CIPHER_CTX* pristine) { return siv_open_keyed(pristine, components, field.body); }));
  if (framed.empty() || framed.reveal()[0] != 0)
    return make_error(ErrorCategory::authentication, "the value failed authentication (bad framing)");
  return SecretBytes::copy_of(framed.reveal().subspan(1));
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
