#include "ceremony/backup_share.h"

#include <openssl/rand.h>

#include <gtest/gtest.h>

namespace keyward::ceremony {
namespace {

Status openssl_random(std::span<std::uint8_t> out) {
  RAND_bytes(out.data(), static_cast<int>(out.size()));
  return {};
}

SecretBytes text_secret(std::string_view text) {
  return SecretBytes::copy_of({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

struct Backup {
  SecretBytes root = SecretBytes(32);
  std::vector<std::string> texts;
};

Backup make_backup(const SecretBytes* passphrase) {
  Backup backup;
  openssl_random(backup.root.reveal_mutable());
  auto shares = split_secret(backup.root, 3, 5, openssl_random);
  EXPECT_TRUE(shares);
  std::string set_id = new_share_set_id();
  for (const auto& share : *shares) {
    ShareMetadata metadata{1, share.index, 3, 5, set_id, "00112233aabbccdd"};
    auto text = encode_share_file(metadata, share, passphrase);
    EXPECT_TRUE(text) << text.error().message;
    backup.texts.push_back(*text);
  }
  return backup;
}

Result<ShareFile> decode(const std::string& text, const char* name, const SecretBytes* passphrase = nullptr) {
  return decode_share_file(text, name, [&](const std::string&) -> Result<SecretBytes> {
    if (!passphrase) return make_error(ErrorCategory::usage, "no passphrase");
    return passphrase->clone();
  });
}

TEST(BackupShare, PlainRoundTrip) {
  auto backup = make_backup(nullptr);
  std::vector<ShareFile> files;
  for (int i : {0, 2, 4}) {
    auto file = decode(backup.texts[static_cast<std::size_t>(i)], "share");
    ASSERT_TRUE(file) << file.error().message;
    files.push_back(std::move(*file));
  }
  auto root = recombine_share_files(files);
  ASSERT_TRUE(root) << root.error().message;
  EXPECT_TRUE(root->equals(backup.root));
}

TEST(BackupShare, SealedRoundTripAndWrongPassphrase) {
  auto passphrase = text_secret("correct horse battery staple");
  auto backup = make_backup(&passphrase);
  EXPECT_EQ(backup.texts[0].find("\"share\""), std::string::npos) << "a sealed file must not hold the share in clear";
  std::vector<ShareFile> files;
  for (int i : {1, 2, 3}) {
    auto file = decode(backup.texts[static_cast<std::size_t>(i)], "share", &passphrase);
    ASSERT_TRUE(file) << file.error().message;
    files.push_back(std::move(*file));
  }
  auto root = recombine_share_files(files);
  ASSERT_TRUE(root);
  EXPECT_TRUE(root->equals(backup.root));
  auto wrong = text_secret("not the passphrase");
  auto refused = decode(backup.texts[0], "share", &wrong);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().category, ErrorCategory::authentication);
}

TEST(BackupShare, EveryCharacterChangeIsRefused) {
  auto backup = make_backup(nullptr);
  const std::string& good = backup.texts[0];
  int refused = 0, changed = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    if (good[i] == '\n' || good[i] == ' ') continue;  // whitespace is not part of the checked content
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] == 'a' ? 'b' : 'a');
    ++changed;
    if (!decode(bad, "tampered")) ++refused;
  }
  EXPECT_EQ(refused, changed);
}

TEST(BackupShare, MixedSetsDuplicatesAndTooFewAreRefused) {
  auto a = make_backup(nullptr);
  auto b = make_backup(nullptr);
  auto file = [&](Backup& backup, std::size_t i) { return *decode(backup.texts[i], ("share" + std::to_string(i)).c_str()); };
  std::vector<ShareFile> mixed;
  mixed.push_back(file(a, 0));
  mixed.push_back(file(a, 1));
  mixed.push_back(file(b, 2));
  EXPECT_FALSE(recombine_share_files(mixed));
  std::vector<ShareFile> duplicate;
  duplicate.push_back(file(a, 0));
  duplicate.push_back(file(a, 0));
  duplicate.push_back(file(a, 1));
  EXPECT_FALSE(recombine_share_files(duplicate));
  std::vector<ShareFile> two;
  two.push_back(file(a, 0));
  two.push_back(file(a, 1));
  auto too_few = recombine_share_files(two);
  ASSERT_FALSE(too_few);
  EXPECT_NE(too_few.error().message.find("needs 3 of 5"), std::string::npos);
}

}  // namespace
}  // namespace keyward::ceremony
