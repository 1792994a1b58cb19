#include "envelope/internal/aead_primitives.h"

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

namespace {

// Runs AES-SIV on `ctx`, already keyed (and reset) for encryption.
Status siv_seal_on(EVP_CIPHER_CTX* ctx, std::span<const std::span<const std::uint8_t>> aad,
                   std::span<const std::uint8_t> plain, std::vector<std::uint8_t>& out) {
  const std::size_t base = out.size();
  out.resize(base + kTag + plain.size());
  int length = 0;
  bool ok = true;
  // RFC 5297 §2.4: S2V over each associated-data component, then the plaintext.
  for (auto component : aad)
    ok = ok && EVP_EncryptUpdate(ctx, nullptr, &length, component.data(), as_int(component.size())) == 1;
  ok = ok && EVP_EncryptUpdate(ctx, out.data() + base + kTag, &length, plain.data(), as_int(plain.size())) == 1 &&
       EVP_EncryptFinal_ex(ctx, nullptr, &length) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTag, out.data() + base) == 1;
  if (!ok) return make_error(ErrorCategory::internal, "AES-SIV encryption failed");
  return {};
}

// Runs AES-SIV decryption on `ctx`, already keyed (and reset) for decryption.
Result<SecretBytes> siv_open_on(EVP_CIPHER_CTX* ctx, std::span<const std::span<const std::uint8_t>> aad,
                                std::span<const std::uint8_t> sealed) {
  if (sealed.size() < kTag) return fail(failed_authentication());
  const std::size_t size = sealed.size() - kTag;
  SecretBytes plain(size);
  int length = 0;
  bool ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTag, const_cast<std::uint8_t*>(sealed.data())) == 1;
  for (auto component : aad)
    ok = ok && EVP_DecryptUpdate(ctx, nullptr, &length, component.data(), as_int(component.size())) == 1;
  ok = ok && EVP_DecryptUpdate(ctx, plain.reveal_mutable().data(), &length, sealed.data() + kTag, as_int(size)) == 1 &&
       EVP_DecryptFinal_ex(ctx, nullptr, &length) == 1;
  if (!ok) return fail(failed_authentication());  // `plain` is wiped on the way out
  return plain;
}

// A per-thread context holding a fresh copy of `pristine`.
EVP_CIPHER_CTX* copy_into_thread_context(const evp_cipher_ctx_st* pristine) {
  EVP_CIPHER_CTX* ctx = thread_context();
  return ctx && pristine && EVP_CIPHER_CTX_copy(ctx, pristine) == 1 ? ctx : nullptr;
}

}  // namespace

evp_cipher_ctx_st* new_keyed_siv_context(const SecretBytes& key, bool encrypt) {
  EVP_CIPHER* cipher = siv(key.size());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  const int ok = ctx && cipher &&
                 (encrypt ? EVP_EncryptInit_ex2(ctx, cipher, key.reveal().data(), nullptr, nullptr)
                          : EVP_DecryptInit_ex2(ctx, cipher, key.reveal().data(), nullptr, nullptr));
  if (ok != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

Status siv_seal(const SecretBytes& key, std::span<const std::span<const std::uint8_t>> aad,
                std::span<const std::uint8_t> plain, std::vector<std::uint8_t>& out) {
  EVP_CIPHER* cipher = siv(key.size());
  EVP_CIPHER_CTX* ctx = thread_context();
  if (!ctx || !cipher || EVP_EncryptInit_ex2(ctx, cipher, key.reveal().data(), nullptr, nullptr) != 1)
    return make_error(ErrorCategory::internal, "AES-SIV set-up failed");
  return siv_seal_on(ctx, aad, plain, out);
}

Result<SecretBytes> siv_open(const SecretBytes& key, std::span<const std::span<const std::uint8_t>> aad,
                             std::span<const std::uint8_t> sealed) {
  EVP_CIPHER* cipher = siv(key.size());
  EVP_CIPHER_CTX* ctx = thread_context();
  if (!ctx || !cipher || EVP_DecryptInit_ex2(ctx, cipher, key.reveal().data(), nullptr, nullptr) != 1)
    return make_error(ErrorCategory::internal, "AES-SIV set-up failed");
  return siv_open_on(ctx, aad, sealed);
}

Status siv_seal_keyed(const evp_cipher_ctx_st* pristine, std::span<const std::span<const std::uint8_t>> aad,
                      std::span<const std::uint8_t> plain, std::vector<std::uint8_t>& out) {
  EVP_CIPHER_CTX* ctx = copy_into_thread_context(pristine);
  if (ctx == nullptr) return make_error(ErrorCategory::internal, "AES-SIV set-up failed");
  return siv_seal_on(ctx, aad, plain, out);
}

Result<SecretBytes> siv_open_keyed(const evp_cipher_ctx_st* pristine, std::span<const std::span<const std::uint8_t>> aad,
                                   std::span<const std::uint8_t> sealed) {
  EVP_CIPHER_CTX* ctx = copy_into_thread_context(pristine);
  if (ctx == nullptr) return make_error(ErrorCategory::internal, "AES-SIV set-up failed");
  return siv_open_on(ctx, aad, sealed);
}

}  // namespace keyward::envelope
