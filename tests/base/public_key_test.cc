// base/public_key.h and base/base64.h: what transcripts and audit checkpoints are checked with.
#include "base/public_key.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>
#include <vector>

#include "base/base64.h"

namespace keyward {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey fresh_p256() { return Pkey(EVP_EC_gen("P-256")); }

std::string public_pem(EVP_PKEY* key) {
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(out, key);
  char* text = nullptr;
  const long length = BIO_get_mem_data(out, &text);
  std::string pem(text, static_cast<std::size_t>(length));
  BIO_free(out);
  return pem;
}

std::vector<std::uint8_t> sign(EVP_PKEY* key, const std::string& message) {
  std::vector<std::uint8_t> signature(static_cast<std::size_t>(EVP_PKEY_get_size(key)));
  std::size_t length = signature.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key), 1);
  EXPECT_EQ(EVP_DigestSign(ctx, signature.data(), &length, reinterpret_cast<const unsigned char*>(message.data()),
                           message.size()),
            1);
  EVP_MD_CTX_free(ctx);
  signature.resize(length);
  return signature;
}

TEST(PublicKey, VerifiesItsOwnSignatureOnlyOverTheSameBytes) {
  auto signer = fresh_p256();
  ASSERT_TRUE(signer);
  auto key = PublicKey::from_pem(public_pem(signer.get()));
  ASSERT_TRUE(key);
  auto signature = sign(signer.get(), "checkpoint 42");
  EXPECT_TRUE(key->verifies("checkpoint 42", signature));
  EXPECT_FALSE(key->verifies("checkpoint 43", signature)) << "another message";
  signature[signature.size() / 2] ^= 0x01;
  EXPECT_FALSE(key->verifies("checkpoint 42", signature)) << "a flipped signature byte";
  auto other = fresh_p256();
  auto other_key = PublicKey::from_pem(public_pem(other.get()));
  ASSERT_TRUE(other_key);
  EXPECT_FALSE(other_key->verifies("checkpoint 42", sign(signer.get(), "checkpoint 42"))) << "another key";
}

TEST(PublicKey, FingerprintIsTheSha256OfTheKeyAndDiffersBetweenKeys) {
  auto a = fresh_p256(), b = fresh_p256();
  auto key_a = PublicKey::from_pem(public_pem(a.get()));
  auto key_b = PublicKey::from_pem(public_pem(b.get()));
  ASSERT_TRUE(key_a && key_b);
  EXPECT_EQ(key_a->fingerprint().size(), 64u);
  EXPECT_EQ(key_a->fingerprint(), PublicKey::from_pem(public_pem(a.get()))->fingerprint());
  EXPECT_NE(key_a->fingerprint(), key_b->fingerprint());
}

TEST(PublicKey, TextThatIsNoKeyIsRefused) {
  EXPECT_FALSE(PublicKey::from_pem(""));
  EXPECT_FALSE(PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
  EXPECT_FALSE(PublicKey::from_pem("not a key at all"));
}

TEST(Sha256Hex, MatchesTheKnownDigestOfAbc) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Base64, RoundTripsEveryLengthAroundThePadding) {
  for (std::size_t n = 0; n < 10; ++n) {
    std::vector<std::uint8_t> bytes(n);
    for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::uint8_t>(0xF0 + i);
    auto decoded = base64_decode(base64_encode(bytes));
    ASSERT_TRUE(decoded) << n;
    EXPECT_EQ(*decoded, bytes) << n;
  }
  EXPECT_EQ(base64_encode(std::vector<std::uint8_t>{'f', 'o', 'o'}), "Zm9v");
}

TEST(Base64, NonCanonicalTextIsRefused) {
  EXPECT_FALSE(base64_decode("Zm9"));    // not a multiple of 4
  EXPECT_FALSE(base64_decode("Zm9v!A==")) << "a foreign character";
  EXPECT_FALSE(base64_decode("A===")) << "three padding characters";
  EXPECT_FALSE(base64_decode("===="));
}

}  // namespace
}  // namespace keyward
