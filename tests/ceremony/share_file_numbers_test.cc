// Share files whose numbers are out of their field's range or of another JSON type (found by
// tests/fuzz/share_file_fuzz.cc; reproducers in tests/fuzz/corpus/share_file_fuzz/crash-*). Before,
// index 258 was read as index 2 — and since the sealed share's associated data is built from the
// numbers as read, a sealed share still opened after its index was changed that way.
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <gtest/gtest.h>

#include "ceremony/backup_share.h"
#include "hierarchy/kek_blob.h"

namespace keyward::ceremony {
namespace {

// The file with `field` set to `value` and its checksum made valid again (it detects damage, not
// an attacker): what a custodian's tampered file looks like.
std::string with_field(const std::string& text, const std::string& field, const nlohmann::json& value) {
  auto j = nlohmann::json::parse(text);
  j[field] = value;
  j.erase("checksum");
  const std::string without = j.dump();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(without.data(), without.size(), digest, &length, EVP_sha256(), nullptr);
  j["checksum"] = hierarchy::to_hex(std::span<const std::uint8_t>(digest, 8));
  return j.dump(2);
}

SecretBytes passphrase() {
  const std::string text = "correct horse battery staple";
  return SecretBytes::copy_of({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

std::string sealed_share_file() {
  ShareMetadata metadata{1, 2, 2, 3, "00112233445566778899aabbccddeeff", "0011223344556677"};
  const auto secret = passphrase();
  auto text = encode_share_file(metadata, Share{2, SecretBytes(32)}, &secret);
  EXPECT_TRUE(text) << text.error().message;
  return text.value_or("");
}

Result<ShareFile> decode(const std::string& text) {
  return decode_share_file(text, "custodian-2.share", [](const std::string&) -> Result<SecretBytes> { return passphrase(); });
}

TEST(ShareFileNumbers, TheUntouchedSealedFileDecodes) {
  auto file = decode(sealed_share_file());
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->metadata.index, 2);
}

TEST(ShareFileNumbers, AnIndexBeyondEightBitsIsRefusedNotTruncated) {
  auto file = decode(with_field(sealed_share_file(), "index", 258));
  ASSERT_FALSE(file) << "index 258 was read as " << int{file->metadata.index};
  EXPECT_EQ(file.error().category, ErrorCategory::corrupt_input);
}

TEST(ShareFileNumbers, NumbersOfAnotherTypeOrRangeAreRefused) {
  const std::string good = sealed_share_file();
  for (const auto& [field, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"index", -2}, {"index", 2.0}, {"index", "2"}, {"threshold", 258}, {"total", 259}, {"root_version", 4294967297ull},
           {"root_version", -1}}) {
    auto file = decode(with_field(good, field, value));
    ASSERT_FALSE(file) << field << " = " << value.dump();
    EXPECT_EQ(file.error().category, ErrorCategory::corrupt_input) << field << " = " << value.dump();
  }
}

TEST(ShareFileNumbers, ScryptParametersOfAnotherTypeOrRangeAreRefused) {
  auto j = nlohmann::json::parse(sealed_share_file());
  for (const auto& [name, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"n", -32768}, {"n", 32768.5}, {"r", 4294967304ull}, {"p", "1"}}) {
    auto sealed = j["sealed"];
    sealed[name] = value;
    auto file = decode(with_field(j.dump(), "sealed", sealed));
    ASSERT_FALSE(file) << name << " = " << value.dump();
    EXPECT_EQ(file.error().category, ErrorCategory::corrupt_input) << name << " = " << value.dump();
  }
}

}  // namespace
}  // namespace keyward::ceremony
