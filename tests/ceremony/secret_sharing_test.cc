#include "ceremony/secret_sharing.h"

#include <openssl/rand.h>

#include <gtest/gtest.h>

namespace keyward::ceremony {
namespace {

Status openssl_random(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) return make_error(ErrorCategory::internal, "rng");
  return {};
}

SecretBytes random_secret(std::size_t size) {
  SecretBytes secret(size);
  EXPECT_TRUE(openssl_random(secret.reveal_mutable()));
  return secret;
}

TEST(Gf256, KnownAnswers) {
  // FIPS 197 §4.2: {57}·{83} = {c1}; §4.2.1: {57}·{13} = {fe}; {53} and {ca} are inverses.
  EXPECT_EQ(gf256_multiply(0x57, 0x83), 0xc1);
  EXPECT_EQ(gf256_multiply(0x57, 0x13), 0xfe);
  EXPECT_EQ(gf256_multiply(0x53, 0xca), 0x01);
  EXPECT_EQ(gf256_inverse(0x53), 0xca);
  EXPECT_EQ(gf256_inverse(0), 0);
  for (unsigned a = 1; a < 256; ++a) EXPECT_EQ(gf256_multiply(static_cast<std::uint8_t>(a), gf256_inverse(static_cast<std::uint8_t>(a))), 1) << a;
}

TEST(SecretSharing, EveryThreeOfFiveRecombines) {
  auto secret = random_secret(32);
  auto shares = split_secret(secret, 3, 5, openssl_random);
  ASSERT_TRUE(shares);
  ASSERT_EQ(shares->size(), 5u);
  int subsets = 0;
  for (std::size_t a = 0; a < 5; ++a)
    for (std::size_t b = a + 1; b < 5; ++b)
      for (std::size_t c = b + 1; c < 5; ++c) {
        auto back = combine_shares({&(*shares)[a], &(*shares)[b], &(*shares)[c]});
        ASSERT_TRUE(back);
        EXPECT_TRUE(back->equals(secret));
        ++subsets;
      }
  EXPECT_EQ(subsets, 10);
}

TEST(SecretSharing, FewerThanThresholdGiveSomethingElse) {
  auto secret = random_secret(32);
  auto shares = split_secret(secret, 3, 5, openssl_random);
  ASSERT_TRUE(shares);
  auto two = combine_shares({&(*shares)[0], &(*shares)[1]});
  ASSERT_TRUE(two);
  EXPECT_FALSE(two->equals(secret));
}

TEST(SecretSharing, RandomSecretsOfManyLengthsAndThresholds) {
  for (std::size_t size = 1; size <= 64; size += 9) {
    for (unsigned threshold = 2; threshold <= 5; ++threshold) {
      auto secret = random_secret(size);
      auto shares = split_secret(secret, threshold, threshold + 2, openssl_random);
      ASSERT_TRUE(shares);
      std::vector<const Share*> last;
      for (unsigned i = 2; i < threshold + 2; ++i) last.push_back(&(*shares)[i]);
      auto back = combine_shares(last);
      ASSERT_TRUE(back);
      EXPECT_TRUE(back->equals(secret)) << size << " " << threshold;
    }
  }
}

TEST(SecretSharing, RejectsBadParametersAndShares) {
  auto secret = random_secret(16);
  EXPECT_FALSE(split_secret(secret, 1, 5, openssl_random));
  EXPECT_FALSE(split_secret(secret, 6, 5, openssl_random));
  EXPECT_FALSE(split_secret(secret, 2, 256, openssl_random));
  auto shares = split_secret(secret, 2, 3, openssl_random);
  ASSERT_TRUE(shares);
  EXPECT_FALSE(combine_shares({&(*shares)[0], &(*shares)[0]}));
  Share zero{0, (*shares)[1].value.clone()};
  EXPECT_FALSE(combine_shares({&(*shares)[0], &zero}));
  Share short_share{9, SecretBytes(3)};
  EXPECT_FALSE(combine_shares({&(*shares)[0], &short_share}));
}

}  // namespace
}  // namespace keyward::ceremony
