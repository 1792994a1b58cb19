// base64url (RFC 4648 §5, no padding, canonical only) against a bit-at-a-time reference decoder,
// for every length up to 64 and a bad character at every position.
#include "envelope/internal/base64url.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>

namespace keyward::envelope {
namespace {

// The obvious decoder: six bits at a time; nullopt where keyward must refuse the text.
std::optional<std::vector<std::uint8_t>> reference_decode(std::string_view text) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  if (text.size() % 4 == 1) return std::nullopt;
  std::vector<std::uint8_t> out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const auto at = alphabet.find(c);
    if (at == std::string::npos) return std::nullopt;
    buffer = buffer << 6 | static_cast<std::uint32_t>(at);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(buffer >> bits));
    }
  }
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

TEST(Base64url, AgreesWithTheReferenceOnValidAndBrokenTexts) {
  std::mt19937 random(7);
  for (std::size_t length = 0; length <= 64; ++length) {
    std::vector<std::uint8_t> bytes(length);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
    const std::string text = base64url_encode(bytes);
    auto decoded = base64url_decode(text);
    ASSERT_TRUE(decoded) << length;
    EXPECT_EQ(*decoded, bytes);
    EXPECT_EQ(reference_decode(text), std::optional(bytes));
    for (std::size_t at = 0; at < text.size(); ++at) {
      for (char bad : {'=', '+', '/', ' ', '\n', '\0', '\x80', 'A', 'B', '_'}) {
        std::string broken = text;
        broken[at] = bad;
        auto expected = reference_decode(broken);
        auto got = base64url_decode(broken);
        ASSERT_EQ(got.has_value(), expected.has_value()) << "length " << length << " position " << at << " char " << int(bad);
        if (got) {
          EXPECT_EQ(*got, *expected);
        }
      }
    }
    std::vector<std::uint8_t> reused(100, 0xAA);
    ASSERT_TRUE(base64url_decode_into(text, reused));
    EXPECT_EQ(reused, bytes) << "decode_into sizes its output to the decoded length";
  }
  EXPECT_FALSE(base64url_decode("abcde")) << "impossible length";
}

}  // namespace
}  // namespace keyward::envelope
