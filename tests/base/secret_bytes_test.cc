#include "base/secret_bytes.h"

#include <gtest/gtest.h>

#include <type_traits>

namespace keyward {
namespace {

static_assert(!std::is_copy_constructible_v<SecretBytes>, "secrets are copied only through clone()");
static_assert(!std::is_convertible_v<SecretBytes, std::string>, "no implicit conversion to a string");

TEST(SecretBytes, StartsZeroedAndCopiesExplicitly) {
  SecretBytes secret(32);
  for (auto byte : secret.reveal()) EXPECT_EQ(byte, 0);
  secret.reveal_mutable()[0] = 7;
  SecretBytes copy = secret.clone();
  EXPECT_TRUE(copy.equals(secret));
  copy.reveal_mutable()[1] = 1;
  EXPECT_FALSE(copy.equals(secret));
}

TEST(SecretBytes, MovedFromIsEmpty) {
  SecretBytes secret = SecretBytes::copy_of(std::vector<std::uint8_t>{1, 2, 3});
  SecretBytes moved = std::move(secret);
  EXPECT_TRUE(secret.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(moved.size(), 3u);
}

TEST(SecretBytes, ShrinkClearsTheDroppedTail) {
  SecretBytes secret = SecretBytes::copy_of(std::vector<std::uint8_t>{9, 9, 9, 9});
  const std::uint8_t* storage = secret.reveal().data();
  secret.shrink_to(1);
  EXPECT_EQ(secret.size(), 1u);
  // The storage is still allocated (capacity unchanged): the dropped bytes must read as zero.
  EXPECT_EQ(storage[1], 0);
  EXPECT_EQ(storage[3], 0);
}

TEST(SecretBytes, WipeReleases) {
  SecretBytes secret(16);
  secret.wipe();
  EXPECT_TRUE(secret.empty());
  EXPECT_TRUE(secret.reveal().empty());
}

TEST(SecretBytes, EqualityNeedsEqualSizes) {
  EXPECT_FALSE(SecretBytes(3).equals(SecretBytes(4)));
  EXPECT_TRUE(SecretBytes().equals(SecretBytes()));
}

}  // namespace
}  // namespace keyward
