#include "ceremony/offline_kcv.h"

#include <openssl/evp.h>

#include <vector>

#include "hierarchy/kek_blob.h"
#include "hierarchy/policy.h"

namespace keyward::ceremony {

Result<std::string> kw_fingerprint_of(const SecretBytes& key) {
  if (key.size() != 32) return make_error(ErrorCategory::usage, "a KW fingerprint needs a 32-byte key");
  std::vector<std::uint8_t> out(48);
  int length = 0, final_length = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  // OpenSSL refuses key-wrap modes unless the caller opts in.
  if (ctx) EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  bool ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_wrap(), nullptr, key.reveal().data(), nullptr) == 1 &&
            EVP_EncryptUpdate(ctx, out.data(), &length, hierarchy::policy::kcv_canary().data(), 32) == 1 &&
            EVP_EncryptFinal_ex(ctx, out.data() + length, &final_length) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return make_error(ErrorCategory::internal, "AES key wrap of the KCV canary failed");
  return hierarchy::to_hex(std::span(out).first(8));
}

}  // namespace keyward::ceremony
