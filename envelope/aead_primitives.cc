#include "envelope/aead_primitives.h"

#include <openssl/evp.h>

#include <memory>

namespace keyward::envelope {
namespace {

constexpr int kTag = 16;

EVP_CIPHER* fetched(const char* name) {
  return EVP_CIPHER_fetch(nullptr, name, nullptr);
}

EVP_CIPHER* gcm() {
  static EVP_CIPHER* const cipher = fetched("AES-256-GCM");
  return cipher;
}

EVP_CIPHER* siv(std::size_t key_size) {
  static EVP_CIPHER* const siv128 = fetched("AES-128-SIV");
  static EVP_CIPHER* const siv256 = fetched("AES-256-SIV");
  return key_size == 32 ? siv128 : key_size == 64 ? siv256 : nullptr;
}

// One context per thread, reused: EVP_CIPHER_CTX_new per call would dominate small-field costs.
EVP_CIPHER_CTX* thread_context() {
  struct Holder {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~Holder() { EVP_CIPHER_CTX_free(ctx); }
  };
  thread_local Holder holder;
  return holder.ctx;
}

int as_int(std::size_t n) { return static_cast<int>(n); }

Error failed_authentication() {
  return Error{ErrorCategory::authentication, "the value failed authentication (wrong key, wrong context, or altered)",
               std::nullopt};
}

}  // namespace

evp_cipher_ctx_st* new_keyed_gcm_context(const SecretBytes& key, bool encrypt) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr || gcm() == nullptr || key.size() != 32) {
    EVP_CIPHER_CTX_free(ctx);
    return nullptr;
  }
  const int ok = encrypt ? EVP_EncryptInit_ex2(ctx, gcm(), key.reveal().data(), nullptr, nullptr)
                         : EVP_DecryptInit_ex2(ctx, gcm(), key.reveal().data(), nullptr, nullptr);
  if (ok != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

Status gcm_seal_keyed(evp_cipher_ctx_st* ctx, std::span<const std::uint8_t> nonce, std::span<const std::uint8_t> aad,
                      std::span<const std::uint8_t> plain, std::vector<std::uint8_t>& out, std::span<const std::uint8_t> aad2) {
  const std::size_t base = out.size();
  out.resize(base + plain.size() + kTag);
  int length = 0;
  bool ok = ctx && nonce.size() == 12 && EVP_EncryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) == 1 &&
            (aad.empty() || EVP_EncryptUpdate(ctx, nullptr, &length, aad.data(), as_int(aad.size())) == 1) &&
            (aad2.empty() || EVP_EncryptUpdate(ctx, nullptr, &length, aad2.data(), as_int(aad2.size())) == 1) &&
            EVP_EncryptUpdate(ctx, out.data() + base, &length, plain.data(), as_int(plain.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx, out.data() + base + plain.size(), &length) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTag, out.data() + base + plain.size()) == 1;
  if (!ok) return make_error(ErrorCategory::internal, "AES-256-GCM encryption failed");
  return {};
}

Result<SecretBytes> gcm_open_keyed(evp_cipher_ctx_st* ctx, std::span<const std::uint8_t> nonce,
                                   std::span<const std::uint8_t> aad, std::span<const std::uint8_t> sealed,
                                   std::span<const std::uint8_t> aad2) {
  if (sealed.size() < kTag || nonce.size() != 12) return fail(failed_authentication());
  const std::size_t size = sealed.size() - kTag;
  SecretBytes plain(size);
  int length = 0;
  bool ok = ctx && EVP_DecryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) == 1 &&
            (aad.empty() || EVP_DecryptUpdate(ctx, nullptr, &length, aad.data(), as_int(aad.size())) == 1) &&
            (aad2.empty() || EVP_DecryptUpdate(ctx, nullptr, &length, aad2.data(), as_int(aad2.size())) == 1) &&
            EVP_DecryptUpdate(ctx, plain.reveal_mutable().data(), &length, sealed.data(), as_int(size)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTag, const_cast<std::uint8_t*>(sealed.data() + size)) == 1 &&
            EVP_DecryptFinal_ex(ctx, plain.reveal_mutable().data() + size, &length) == 1;
  if (!ok) return fail(failed_authentication());  // `plain` is wiped on the way out
  return plain;
}

Status gcm_seal(const SecretBytes& key, std::span<const std::uint8_t> nonce, std::span<const std::uint8_t> aad,
                std::span<const std::uint8_t> plain, std::vector<std::uint8_t>& out) {
  EVP_CIPHER_CTX* ctx = thread_context();
  if (!ctx || !gcm() || key.size() != 32 || EVP_EncryptInit_ex2(ctx, gcm(), key.reveal().data(), nullptr, nullptr) != 1)
    return make_error(ErrorCategory::internal, "AES-256-GCM set-up failed");
  return gcm_seal_keyed(ctx, nonce, aad, plain, out);
}

Result<SecretBytes> gcm_open(const SecretBytes& key, std::span<const std::uint8_t> nonce, std::span<const std::uint8_t> aad,
                             std::span<const std::uint8_t> sealed) {
  EVP_CIPHER_CTX* ctx = thread_context();
  if (!ctx || !gcm() || key.size() != 32 || EVP_DecryptInit_ex2(ctx, gcm(), key.reveal().data(), nullptr, nullptr) != 1)
    return make_error(ErrorCategory::internal, "AES-256-GCM set-up failed");
  return gcm_open_keyed(ctx, nonce, aad, sealed);
}

Status siv_seal(const SecretBytes& key, std::span<const std::span<const std::uint8_t>> aad,
                std::span<const std::uint8_t> plain, std::vector<std::uint8_t>& out) {
  EVP_CIPHER* cipher = siv(key.size());
  EVP_CIPHER_CTX* ctx = thread_context();
  const std::size_t base = out.size();
  out.resize(base + kTag + plain.size());
  int length = 0;
  bool ok = ctx && cipher && EVP_EncryptInit_ex2(ctx, cipher, key.reveal().data(), nullptr, nullptr) == 1;
  // RFC 5297 §2.4: S2V over each associated-data component, then the plaintext.
  for (auto component : aad)
    ok = ok && EVP_EncryptUpdate(ctx, nullptr, &length, component.data(), as_int(component.size())) == 1;
  ok = ok && EVP_EncryptUpdate(ctx, out.data() + base + kTag, &length, plain.data(), as_int(plain.size())) == 1 &&
       EVP_EncryptFinal_ex(ctx, nullptr, &length) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTag, out.data() + base) == 1;
  if (!ok) return make_error(ErrorCategory::internal, "AES-SIV encryption failed");
  return {};
}

Result<SecretBytes> siv_open(const SecretBytes& key, std::span<const std::span<const std::uint8_t>> aad,
                             std::span<const std::uint8_t> sealed) {
  if (sealed.size() < kTag) return fail(failed_authentication());
  EVP_CIPHER* cipher = siv(key.size());
  EVP_CIPHER_CTX* ctx = thread_context();
  const std::size_t size = sealed.size() - kTag;
  SecretBytes plain(size);
  int length = 0;
  bool ok = ctx && cipher && EVP_DecryptInit_ex2(ctx, cipher, key.reveal().data(), nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTag, const_cast<std::uint8_t*>(sealed.data())) == 1;
  for (auto component : aad)
    ok = ok && EVP_DecryptUpdate(ctx, nullptr, &length, component.data(), as_int(component.size())) == 1;
  ok = ok && EVP_DecryptUpdate(ctx, plain.reveal_mutable().data(), &length, sealed.data() + kTag, as_int(size)) == 1 &&
       EVP_DecryptFinal_ex(ctx, nullptr, &length) == 1;
  if (!ok) return fail(failed_authentication());
  return plain;
}

}  // namespace keyward::envelope
