#include "tests/fuzz/fixture_key.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

namespace keyward::fuzz {
namespace {

// In the source on purpose: a test key, never used outside the fuzz corpora.
constexpr const char* kFixturePrivateKey = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgYsrNNTdFJJAtzebr
WB4aji3sXBv530RFr4kkW/PJqJqhRANCAAQ0Vr/EHIpcrNni9r9BrrZimqfGHiYP
GRQF2FiyccTtt5Rpcs5zgeunFL6pmO8z+WblE45CJqH9P2vt8HqorSOp
-----END PRIVATE KEY-----
)";

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

EVP_PKEY* fixture_key() {
  static const std::unique_ptr<EVP_PKEY, PkeyFree> key = [] {
    BIO* bio = BIO_new_mem_buf(kFixturePrivateKey, -1);
    std::unique_ptr<EVP_PKEY, PkeyFree> parsed(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    return parsed;
  }();
  return key.get();
}

}  // namespace

const std::string& fixture_public_key_pem() {
  static const std::string pem = [] {
    BIO* out = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(out, fixture_key());
    char* text = nullptr;
    const long length = BIO_get_mem_data(out, &text);
    std::string result(text, static_cast<std::size_t>(length));
    BIO_free(out);
    return result;
  }();
  return pem;
}

Result<std::vector<std::uint8_t>> fixture_sign(std::span<const std::uint8_t> data) {
  std::vector<std::uint8_t> signature(static_cast<std::size_t>(EVP_PKEY_get_size(fixture_key())));
  std::size_t length = signature.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, fixture_key()) == 1 &&
                  EVP_DigestSign(ctx, signature.data(), &length, data.data(), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return make_error(ErrorCategory::internal, "signing with the fuzz fixture key failed");
  signature.resize(length);
  return signature;
}

}  // namespace keyward::fuzz
