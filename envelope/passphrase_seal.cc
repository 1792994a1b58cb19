#include "envelope/passphrase_seal.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <memory>

namespace keyward::envelope {
namespace {

constexpr std::size_t kTagBytes = 16;

Result<SecretBytes> derive_key(const SecretBytes& passphrase, const PassphraseSealed& params) {
  if (params.scrypt_n < 1024 || params.scrypt_n > (1u << 22) || params.scrypt_r == 0 || params.scrypt_r > 32 ||
      params.scrypt_p == 0 || params.scrypt_p > 16 || params.salt.size() < 16)
    return make_error(ErrorCategory::corrupt_input, "scrypt parameters out of range");
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_SCRYPT, nullptr);
  if (kdf == nullptr) return make_error(ErrorCategory::internal, "scrypt is not available in OpenSSL");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  uint64_t n = params.scrypt_n;
  uint32_t r = params.scrypt_r, p = params.scrypt_p;
  OSSL_PARAM ossl_params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, const_cast<std::uint8_t*>(passphrase.reveal().data()),
                                        passphrase.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(params.salt.data()),
                                        params.salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes key(32);
  int ok = ctx ? EVP_KDF_derive(ctx, key.reveal_mutable().data(), key.size(), ossl_params) : 0;
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) return make_error(ErrorCategory::internal, "scrypt key derivation failed");
  return key;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

}  // namespace

Result<PassphraseSealed> seal_with_passphrase(const SecretBytes& secret, const SecretBytes& passphrase,
                                              std::span<const std::uint8_t> associated) {
  if (passphrase.size() < 8) return make_error(ErrorCategory::usage, "a custodian passphrase needs at least 8 characters");
  PassphraseSealed sealed;
  sealed.salt.resize(16);
  sealed.nonce.resize(12);
  if (RAND_bytes(sealed.salt.data(), 16) != 1 || RAND_bytes(sealed.nonce.data(), 12) != 1)
    return make_error(ErrorCategory::internal, "OpenSSL's random generator failed");
  KW_ASSIGN_OR_RETURN(auto key, derive_key(passphrase, sealed));
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  sealed.ciphertext.resize(secret.size() + kTagBytes);
  int length = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.reveal().data(), sealed.nonce.data()) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &length, associated.data(), static_cast<int>(associated.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), sealed.ciphertext.data(), &length, secret.reveal().data(),
                              static_cast<int>(secret.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), sealed.ciphertext.data() + length, &length) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, sealed.ciphertext.data() + secret.size()) == 1;
  if (!ok) return make_error(ErrorCategory::internal, "AES-256-GCM sealing failed");
  return sealed;
}

Result<SecretBytes> open_with_passphrase(const PassphraseSealed& sealed, const SecretBytes& passphrase,
                                         std::span<const std::uint8_t> associated) {
  if (sealed.ciphertext.size() < kTagBytes || sealed.nonce.size() != 12)
    return make_error(ErrorCategory::corrupt_input, "sealed data is too short");
  KW_ASSIGN_OR_RETURN(auto key, derive_key(passphrase, sealed));
  const std::size_t plain_size = sealed.ciphertext.size() - kTagBytes;
  SecretBytes plain(plain_size);
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  std::vector<std::uint8_t> tag(sealed.ciphertext.end() - kTagBytes, sealed.ciphertext.end());
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.reveal().data(), sealed.nonce.data()) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &length, associated.data(), static_cast<int>(associated.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), plain.reveal_mutable().data(), &length, sealed.ciphertext.data(),
                              static_cast<int>(plain_size)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), plain.reveal_mutable().data() + length, &length) == 1;
  if (!ok) {
    plain.wipe();  // release nothing on failure
    return make_error(ErrorCategory::authentication, "wrong passphrase, or the sealed share was altered");
  }
  return plain;
}

}  // namespace keyward::envelope
