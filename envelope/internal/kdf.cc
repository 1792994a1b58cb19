#include "envelope/internal/kdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>

namespace keyward::envelope {
namespace {

// Fetched once: OpenSSL 3's per-call fetch takes global locks.
EVP_KDF* hkdf_algorithm() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
  return kdf;
}

struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};

}  // namespace

Result<SecretBytes> hkdf_sha256(const SecretBytes& key, std::span<const std::uint8_t> salt,
                                std::span<const std::uint8_t> info, std::size_t length) {
  if (hkdf_algorithm() == nullptr) return make_error(ErrorCategory::internal, "HKDF is not available in OpenSSL");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(hkdf_algorithm()));
  if (!ctx) return make_error(ErrorCategory::internal, "EVP_KDF_CTX_new failed");

  char digest[] = "SHA256";
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads these buffers.
  auto* key_ptr = const_cast<std::uint8_t*>(key.reveal().data());
  auto* salt_ptr = const_cast<std::uint8_t*>(salt.data());
  auto* info_ptr = const_cast<std::uint8_t*>(info.data());
  // RFC 5869 §2.2: an absent salt is HashLen zero bytes; OpenSSL applies that when the parameter is
  // left out (it refuses a NULL salt pointer).
  OSSL_PARAM params[5];
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key_ptr, key.size());
  if (!salt.empty()) params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt_ptr, salt.size());
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info_ptr, info.size());
  params[n] = OSSL_PARAM_construct_end();
  SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.reveal_mutable().data(), length, params) != 1)
    return make_error(ErrorCategory::internal, "HKDF-SHA-256 derivation failed");
  return out;
}

Result<SecretBytes> hkdf_sha256(const SecretBytes& key, std::span<const std::uint8_t> salt,
                                std::string_view info, std::size_t length) {
  return hkdf_sha256(key, salt,
                     std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(info.data()), info.size()),
                     length);
}

}  // namespace keyward::envelope
