// Field values: the documented maximum size, secret memory under many threads, scope binding,
// and canonical base64url (issue 9).
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>

#include "envelope/internal/base64url.h"
#include "envelope/field.h"
#include "tests/envelope/envelope_test_support.h"

namespace keyward::envelope {
namespace {

using testing::random_bytes;
using testing::random_key;

DekId id_of(std::uint8_t byte) {
  DekId id{};
  id[0] = byte;
  return id;
}

TEST(FieldLimits, ValueAtTheMaximumRoundTripsAndOneMoreByteIsRefused) {
  auto key = FieldKey::derive(random_key(), id_of(1), "tenant:a");
  ASSERT_TRUE(key);
  const EncryptionContext context{{"column", "blob"}};
  for (auto suite : {FieldSuite::randomized, FieldSuite::deterministic}) {
    const auto largest = random_bytes(kMaxFieldValueBytes);
    auto text = key->encrypt(largest, suite, context);
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_LE(text->size(), kMaxFieldTextBytes);
    auto parsed = parse_field(*text);
    ASSERT_TRUE(parsed) << parsed.error().message;
    auto plain = key->decrypt(*parsed, context);
    ASSERT_TRUE(plain) << plain.error().message;
    EXPECT_TRUE(std::equal(plain->reveal().begin(), plain->reveal().end(), largest.begin(), largest.end()));

    auto too_large = key->encrypt(random_bytes(kMaxFieldValueBytes + 1), suite, context);
    ASSERT_FALSE(too_large);
    EXPECT_EQ(too_large.error().category, ErrorCategory::policy);
    EXPECT_NE(too_large.error().message.find("at most 65536 bytes"), std::string::npos) << too_large.error().message;
  }
  // A value text longer than any keyward writes is corrupt input, refused before decoding.
  auto huge = parse_field(std::string(kMaxFieldTextBytes + 1, 'A'));
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().category, ErrorCategory::corrupt_input);
}

TEST(FieldLimits, ManyThreadsDecryptingValuesNearTheMaximumNeverAbort) {
  // The secure heap sized for 2 threads (2 MiB), used by 16 that each hold 4 near-maximal
  // plaintexts at once (4 MiB): the heap runs out, and the allocations fall back to the normal heap, counted (with the
  // old fixed 1 MiB heap this threw std::bad_alloc out of SecretBytes and aborted the process).
  enable_secret_memory_protection(2);
  auto key = FieldKey::derive(random_key(), id_of(2), "tenant:b");
  ASSERT_TRUE(key);
  const EncryptionContext context{};
  std::vector<std::string> values;
  for (auto suite : {FieldSuite::randomized, FieldSuite::deterministic}) {
    auto text = key->encrypt(random_bytes(kMaxFieldValueBytes - 7), suite, context);
    ASSERT_TRUE(text);
    values.push_back(*text);
  }
  const auto before = secret_memory_stats();
  std::atomic<int> failures{0}, decrypted{0};
  // Every thread holds its plaintexts until all have theirs: 16 · 4 blocks of 64 KiB live at once.
  std::barrier all_holding(16);
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 4; ++round) {
        std::vector<SecretBytes> held;
        for (int i = 0; i < 4; ++i) {
          auto parsed = parse_field(values[static_cast<std::size_t>(t + i) % values.size()]);
          auto plain = parsed ? key->decrypt(*parsed, context) : Result<SecretBytes>(std::unexpected(parsed.error()));
          if (!plain) {
            ++failures;
            continue;
          }
          ++decrypted;
          held.push_back(std::move(*plain));
        }
        all_holding.arrive_and_wait();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(decrypted.load(), 16 * 4 * 4);
  const auto after = secret_memory_stats();
  if (after.secure_heap_bytes > 0) {
    EXPECT_EQ(after.secure_heap_bytes, secret_heap_size_for(2));
    EXPECT_GT(after.fallbacks, before.fallbacks) << "16 threads outgrow a heap sized for 2: the fallback is counted";
  }
}

TEST(FieldLimits, HeapSizeCoversTheLargestSecretsOfEveryThread) {
  for (std::size_t threads : {1u, 2u, 8u, 64u}) {
    const std::size_t size = secret_heap_size_for(threads);
    EXPECT_EQ(size & (size - 1), 0u) << "a power of two";
    EXPECT_GE(size, (std::size_t{1} << 20) + threads * 2 * kLargestSecretPerThread);
  }
  EXPECT_GE(kLargestSecretPerThread, kMaxFieldValueBytes + 1) << "a deterministic value is sealed with one framing byte";
}

TEST(FieldScope, NewValuesBindTheScopeOldValuesStillDecrypt) {
  const SecretBytes dek = random_key();
  auto tenant_a = FieldKey::derive(dek, id_of(3), "tenant:a");
  auto tenant_b = FieldKey::derive(dek, id_of(3), "tenant:b");  // the same DEK recorded under another scope
  ASSERT_TRUE(tenant_a && tenant_b);
  const EncryptionContext context{{"table", "users"}};
  const auto plain = random_bytes(20);
  for (auto suite : {FieldSuite::randomized, FieldSuite::deterministic}) {
    auto value = tenant_a->encrypt(plain, suite, context);
    ASSERT_TRUE(value);
    auto parsed = parse_field(*value);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->version, kFieldVersion);
    EXPECT_TRUE(tenant_a->decrypt(*parsed, context));
    auto moved = tenant_b->decrypt(*parsed, context);
    ASSERT_FALSE(moved) << "a version 2 value does not decrypt under another scope";
    EXPECT_EQ(moved.error().category, ErrorCategory::authentication);

    // Version 1 (before scope binding) values still decrypt, under any scope.
    auto old = tenant_a->encrypt(plain, suite, context, kFieldVersionUnscoped);
    ASSERT_TRUE(old);
    auto old_parsed = parse_field(*old);
    ASSERT_TRUE(old_parsed);
    EXPECT_EQ(old_parsed->version, kFieldVersionUnscoped);
    EXPECT_TRUE(tenant_a->decrypt(*old_parsed, context));
    EXPECT_TRUE(tenant_b->decrypt(*old_parsed, context));
    // The version byte is authenticated: relabelling a version 1 value as version 2 fails, and back.
    auto raw = base64url_decode(*old);
    (*raw)[0] = kFieldVersion;
    EXPECT_FALSE(tenant_a->decrypt(*parse_field(base64url_encode(*raw)), context));
    raw = base64url_decode(*value);
    (*raw)[0] = kFieldVersionUnscoped;
    EXPECT_FALSE(tenant_a->decrypt(*parse_field(base64url_encode(*raw)), context));
  }
  // Scopes differing only in length framing do not collide ("ab" vs "a" + "b..." in the context).
  auto short_scope = FieldKey::derive(dek, id_of(3), "tenant:");
  auto value = tenant_a->encrypt(plain, FieldSuite::deterministic, context);
  EXPECT_FALSE(short_scope->decrypt(*parse_field(*value), context));
  EXPECT_FALSE(FieldKey::derive(dek, id_of(3), std::string(65536, 's'))) << "a scope is at most 65535 bytes";
}

TEST(FieldContext, AnEmptyContextKeyIsRefused) {
  auto key = FieldKey::derive(random_key(), id_of(4), "s");
  ASSERT_TRUE(key);
  auto value = key->encrypt(random_bytes(3), FieldSuite::randomized, EncryptionContext{{"", "x"}});
  ASSERT_FALSE(value);
  EXPECT_EQ(value.error().category, ErrorCategory::usage);
  auto good = key->encrypt(random_bytes(3), FieldSuite::randomized, EncryptionContext{{"k", "x"}});
  ASSERT_TRUE(good);
  EXPECT_FALSE(key->decrypt(*parse_field(*good), EncryptionContext{{"", "x"}}));
}

TEST(Base64url, OnlyTheCanonicalEncodingDecodes) {
  const auto data = random_bytes(20);
  const std::string good = base64url_encode(data);
  ASSERT_TRUE(base64url_decode(good));
  for (const std::string& bad : {good + "=", good + "==", " " + good, good + " ", good + "\n", good.substr(0, 10) + "\n" + good.substr(10),
                                 good.substr(0, 10) + "\t" + good.substr(10), good + "\r"}) {
    auto decoded = base64url_decode(bad);
    ASSERT_FALSE(decoded) << "'" << bad << "'";
    EXPECT_EQ(decoded.error().category, ErrorCategory::corrupt_input);
  }
  // Standard base64's alphabet is not base64url's.
  EXPECT_FALSE(base64url_decode("ab+/"));
  // Trailing bits: 20 bytes end in a 2-byte group, whose last character has 2 unused bits, which
  // must be zero. Setting the lowest one gives a text that decodes to the same bytes in a lax decoder.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string trailing = good;
  trailing.back() = alphabet[alphabet.find(good.back()) ^ 1u];
  EXPECT_FALSE(base64url_decode(trailing)) << "a non-zero unused bit";
  EXPECT_FALSE(parse_field(base64url_encode(random_bytes(60)) + "\n")) << "a value with a newline is not canonical";
}

}  // namespace
}  // namespace keyward::envelope
