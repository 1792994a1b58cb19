// AES-256-GCM and AES-SIV against published vectors (tests/vectors/).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "envelope/internal/aead_primitives.h"
#include "envelope/internal/segment_cipher.h"

namespace keyward::envelope {
namespace {

std::vector<std::uint8_t> hex(const std::string& text) {
  std::vector<std::uint8_t> out;
  if (text == "-") return out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(text.substr(i, 2), nullptr, 16)));
  return out;
}

std::vector<std::vector<std::string>> read_vectors(const std::string& name) {
  std::ifstream in(std::string(KEYWARD_VECTORS_DIR) + "/" + name);
  EXPECT_TRUE(in) << name;
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::vector<std::string> row;
    for (std::string field; fields >> field;) row.push_back(field);
    rows.push_back(row);
  }
  return rows;
}

TEST(KnownAnswers, AesGcmNistTestCases13To16) {
  auto rows = read_vectors("aes_gcm_nist.txt");
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& r : rows) {
    auto key = SecretBytes::copy_of(hex(r[1]));
    auto iv = hex(r[2]), aad = hex(r[3]), plain = hex(r[4]), cipher = hex(r[5]), tag = hex(r[6]);
    std::vector<std::uint8_t> sealed;
    ASSERT_TRUE(gcm_seal(key, iv, aad, plain, sealed)) << r[0];
    auto expected = cipher;
    expected.insert(expected.end(), tag.begin(), tag.end());
    EXPECT_EQ(sealed, expected) << r[0];
    auto opened = gcm_open(key, iv, aad, sealed);
    ASSERT_TRUE(opened) << r[0];
    EXPECT_TRUE(std::equal(opened->reveal().begin(), opened->reveal().end(), plain.begin(), plain.end())) << r[0];
    sealed.back() ^= 1;
    EXPECT_FALSE(gcm_open(key, iv, aad, sealed)) << r[0] << ": a flipped tag must fail";
  }
}

TEST(KnownAnswers, SegmentCipherIsPlainGcmWithItsNonceAndAad) {
  // The envelope's segment cipher on test case 16's key: nonce prefix ‖ index ‖ last, aad = header hash.
  auto key = SecretBytes::copy_of(hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"));
  std::array<std::uint8_t, kNoncePrefixBytes> prefix{1, 2, 3, 4, 5, 6, 7};
  std::array<std::uint8_t, 32> aad{};
  aad.fill(0xAB);
  auto cipher = SegmentCipher::create(key, prefix, aad);
  ASSERT_TRUE(cipher);
  std::vector<std::uint8_t> plain(100, 0x5A), out(116);
  ASSERT_TRUE(cipher->seal(0x01020304, true, plain, out));
  std::vector<std::uint8_t> expected;
  std::vector<std::uint8_t> nonce = {1, 2, 3, 4, 5, 6, 7, 0x01, 0x02, 0x03, 0x04, 0x01};
  ASSERT_TRUE(gcm_seal(key, nonce, aad, plain, expected));
  EXPECT_EQ(out, expected);
}

// One RFC 5297 Appendix A vector: name, key, associated-data components, plaintext, SIV ‖ ciphertext.
struct SivVector {
  std::string name;
  SecretBytes key;
  std::vector<std::vector<std::uint8_t>> components;
  std::vector<std::uint8_t> plain, sealed;
  std::vector<std::span<const std::uint8_t>> aad() const { return {components.begin(), components.end()}; }
};

std::vector<SivVector> siv_vectors() {
  std::vector<SivVector> vectors;
  for (const auto& r : read_vectors("aes_siv_rfc5297.txt")) {
    SivVector v{r[0], SecretBytes::copy_of(hex(r[1])), {}, hex(r[3]), hex(r[4])};
    std::stringstream list(r[2]);
    for (std::string part; std::getline(list, part, ',');) v.components.push_back(hex(part));
    vectors.push_back(std::move(v));
  }
  return vectors;
}

TEST(KnownAnswers, AesSivRfc5297AppendixA) {
  auto vectors = siv_vectors();
  ASSERT_EQ(vectors.size(), 2u);
  for (const auto& v : vectors) {
    std::vector<std::uint8_t> sealed;
    ASSERT_TRUE(siv_seal(v.key, v.aad(), v.plain, sealed)) << v.name;
    EXPECT_EQ(sealed, v.sealed) << v.name;
    auto opened = siv_open(v.key, v.aad(), sealed);
    ASSERT_TRUE(opened) << v.name;
    EXPECT_TRUE(std::equal(opened->reveal().begin(), opened->reveal().end(), v.plain.begin(), v.plain.end())) << v.name;
    sealed[0] ^= 1;
    EXPECT_FALSE(siv_open(v.key, v.aad(), sealed)) << v.name;
  }
}

TEST(KnownAnswers, AesSivFromAKeyedContextMatchesRfc5297EveryTime) {
  // The field path copies a context keyed once; the copy must start from a clean S2V state on
  // every call, so each vector is sealed three times from the same pristine context.
  auto vectors = siv_vectors();
  ASSERT_EQ(vectors.size(), 2u);
  for (const auto& v : vectors) {
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> sealer(new_keyed_siv_context(v.key, true), EVP_CIPHER_CTX_free);
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> opener(new_keyed_siv_context(v.key, false), EVP_CIPHER_CTX_free);
    ASSERT_TRUE(sealer && opener);
    for (int round = 0; round < 3; ++round) {
      std::vector<std::uint8_t> sealed;
      ASSERT_TRUE(siv_seal_keyed(sealer.get(), v.aad(), v.plain, sealed)) << v.name;
      EXPECT_EQ(sealed, v.sealed) << v.name << " round " << round;
      auto opened = siv_open_keyed(opener.get(), v.aad(), sealed);
      ASSERT_TRUE(opened) << v.name;
      EXPECT_TRUE(std::equal(opened->reveal().begin(), opened->reveal().end(), v.plain.begin(), v.plain.end()));
      sealed.back() ^= 1;
      EXPECT_FALSE(siv_open_keyed(opener.get(), v.aad(), sealed)) << v.name << " tampered";
    }
  }
}

}  // namespace
}  // namespace keyward::envelope
