#include "envelope/field.h"

#include <gtest/gtest.h>

#include "envelope/internal/base64url.h"
#include "tests/envelope/envelope_test_support.h"

namespace keyward::envelope {
namespace {

using namespace testing;

std::span<const std::uint8_t> bytes(std::string_view text) { return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}; }

FieldKey make_key(std::uint8_t id_byte = 1) {
  DekId id{};
  id[0] = id_byte;
  auto key = FieldKey::derive(random_key(), id);
  EXPECT_TRUE(key);
  return std::move(*key);
}

std::string text_of(const SecretBytes& s) { return {s.reveal().begin(), s.reveal().end()}; }

TEST(Base64url, RoundTripsAndRejectsNonCanonical) {
  for (std::size_t n = 0; n < 40; ++n) {
    auto data = random_bytes(n);
    auto text = base64url_encode(data);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    auto back = base64url_decode(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, data);
  }
  EXPECT_FALSE(base64url_decode("ab$d"));
  EXPECT_FALSE(base64url_decode("abcde"));
  EXPECT_FALSE(base64url_decode("AB"));  // low bits set: not canonical ("AA" is)
}

TEST(Field, BothSuitesRoundTripWithContext) {
  auto key = make_key();
  EncryptionContext context{{"table", "users"}, {"column", "email"}, {"row", "42"}};
  for (auto suite : {FieldSuite::randomized, FieldSuite::deterministic}) {
    for (std::string_view value : {"", "a", "alice@example.com", "a much longer value that spans several AES blocks...."}) {
      auto text = key.encrypt(bytes(value), suite, context);
      ASSERT_TRUE(text) << "suite " << static_cast<int>(suite) << " value '" << value << "': " << text.error().message;
      auto parsed = parse_field(*text);
      ASSERT_TRUE(parsed);
      EXPECT_EQ(parsed->suite, suite);
      EXPECT_EQ(parsed->dek_id, key.dek_id());
      auto plain = key.decrypt(*parsed, context);
      ASSERT_TRUE(plain) << plain.error().message;
      EXPECT_EQ(text_of(*plain), value);
    }
  }
}

TEST(Field, RandomizedDiffersDeterministicRepeats) {
  auto key = make_key();
  EncryptionContext column{{"table", "users"}, {"column", "email"}};
  auto a = key.encrypt(bytes("bob@example.com"), FieldSuite::randomized, column);
  auto b = key.encrypt(bytes("bob@example.com"), FieldSuite::randomized, column);
  EXPECT_NE(*a, *b);
  auto c = key.encrypt(bytes("bob@example.com"), FieldSuite::deterministic, column);
  auto d = key.encrypt(bytes("bob@example.com"), FieldSuite::deterministic, column);
  EXPECT_EQ(*c, *d) << "equality lookups need the same value for the same input";
  auto e = key.encrypt(bytes("bob@example.com"), FieldSuite::deterministic, {{"table", "users"}, {"column", "name"}});
  EXPECT_NE(*c, *e) << "another column must not match";
  auto f = make_key(2).encrypt(bytes("bob@example.com"), FieldSuite::deterministic, column);
  EXPECT_NE(*c, *f) << "another key version must not match";
}

TEST(Field, EveryByteFlipWrongContextAndWrongKeyAreRejected) {
  auto key = make_key();
  EncryptionContext context{{"table", "t"}};
  for (auto suite : {FieldSuite::randomized, FieldSuite::deterministic}) {
    auto text = key.encrypt(bytes("secret value"), suite, context);
    auto raw = base64url_decode(*text);
    for (std::size_t i = 0; i < raw->size(); ++i) {
      auto bad = *raw;
      bad[i] ^= 0x01;
      auto parsed = parse_field(base64url_encode(bad));
      if (!parsed) continue;  // header damage: rejected by parsing
      EXPECT_FALSE(key.decrypt(*parsed, context)) << "flip at " << i;
    }
    auto parsed = parse_field(*text);
    auto wrong_context = key.decrypt(*parsed, EncryptionContext{{"table", "other"}});
    ASSERT_FALSE(wrong_context);
    EXPECT_EQ(wrong_context.error().category, ErrorCategory::authentication);
    EXPECT_FALSE(key.decrypt(*parsed, EncryptionContext{}));
    auto other = make_key();  // same DEK ID byte, different DEK
    EXPECT_FALSE(other.decrypt(*parsed, context));
  }
}

TEST(Field, MalformedValuesAreCorruptInput) {
  for (std::string_view bad : {"", "!!!!", "AAAA", "AQ"}) {
    auto parsed = parse_field(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().category, ErrorCategory::corrupt_input);
  }
  auto key = make_key();
  auto text = key.encrypt(bytes("x"), FieldSuite::randomized, EncryptionContext{});
  auto raw = base64url_decode(*text);
  (*raw)[0] = 9;
  EXPECT_NE(parse_field(base64url_encode(*raw)).error().message.find("version 9"), std::string::npos);
  (*raw)[0] = 1;
  (*raw)[1] = 7;
  EXPECT_NE(parse_field(base64url_encode(*raw)).error().message.find("suite 7"), std::string::npos);
}

TEST(BlindIndex, StableTruncatedAndScoped) {
  auto key = make_key();
  EncryptionContext column{{"column", "email"}};
  auto a = key.blind_index(bytes("carol@example.com"), column, 8);
  auto b = key.blind_index(bytes("carol@example.com"), column, 8);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(base64url_decode(*a)->size(), 8u);
  EXPECT_EQ(base64url_decode(*key.blind_index(bytes("x"), column, 32))->size(), 32u);
  EXPECT_NE(*a, *key.blind_index(bytes("carol@example.org"), column, 8));
  EXPECT_NE(*a, *key.blind_index(bytes("carol@example.com"), {{"column", "name"}}, 8));
  EXPECT_FALSE(key.blind_index(bytes("x"), column, 3));
  EXPECT_FALSE(key.blind_index(bytes("x"), column, 33));
}

}  // namespace
}  // namespace keyward::envelope
