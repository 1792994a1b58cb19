#include "envelope/internal/base64url.h"

#include <array>
#include <cstring>

namespace keyward::envelope {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> decode_table() {
  std::array<std::int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return table;
}
constexpr auto kDecode = decode_table();

// Every 12-bit group as its two characters: three bytes become two table reads and two stores.
constexpr std::array<std::array<char, 2>, 4096> pair_table() {
  std::array<std::array<char, 2>, 4096> table{};
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = {kAlphabet[i >> 6], kAlphabet[i & 63]};
  return table;
}
constexpr auto kPairs = pair_table();

}  // namespace

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
  // Sized once and written through a pointer: appending char by char was half the cost of a field encrypt.
  std::string out((bytes.size() * 4 + 2) / 3, '\0');
  char* to = out.data();
  const std::uint8_t* from = bytes.data();
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3, to += 4) {
    const std::uint32_t v = static_cast<std::uint32_t>(from[i]) << 16 | static_cast<std::uint32_t>(from[i + 1]) << 8 | from[i + 2];
    std::memcpy(to, kPairs[v >> 12].data(), 2);
    std::memcpy(to + 2, kPairs[v & 0xFFF].data(), 2);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<std::uint32_t>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<std::uint32_t>(bytes[i + 1]) << 8;
    *to++ = kAlphabet[v >> 18];
    *to++ = kAlphabet[(v >> 12) & 63];
    if (rest == 2) *to++ = kAlphabet[(v >> 6) & 63];
  }
  return out;
}

Status base64url_decode_into(std::string_view text, std::vector<std::uint8_t>& out) {
  const std::size_t rest = text.size() % 4;
  if (rest == 1) return make_error(ErrorCategory::corrupt_input, "base64url text has an impossible length");
  out.resize(text.size() / 4 * 3 + (rest == 0 ? 0 : rest - 1));
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  std::uint8_t* to = out.data();
  // Four characters to three bytes at a time: a bit at a time was a fifth of a field decrypt. An
  // invalid character is -1 in the table; OR-ing them all keeps the sign bit of any.
  std::int32_t invalid = 0;
  std::size_t i = 0;
  for (; i + 4 <= text.size(); i += 4, to += 3) {
    const std::int32_t a = kDecode[in[i]], b = kDecode[in[i + 1]], c = kDecode[in[i + 2]], d = kDecode[in[i + 3]];
    invalid |= a | b | c | d;
    const auto v = static_cast<std::uint32_t>(a) << 18 | static_cast<std::uint32_t>(b) << 12 |
                   static_cast<std::uint32_t>(c) << 6 | static_cast<std::uint32_t>(d);
    to[0] = static_cast<std::uint8_t>(v >> 16);
    to[1] = static_cast<std::uint8_t>(v >> 8);
    to[2] = static_cast<std::uint8_t>(v);
  }
  if (rest > 0) {
    const std::int32_t a = kDecode[in[i]], b = kDecode[in[i + 1]], c = rest == 3 ? kDecode[in[i + 2]] : 0;
    invalid |= a | b | c;
    const auto v = static_cast<std::uint32_t>(a) << 18 | static_cast<std::uint32_t>(b) << 12 | static_cast<std::uint32_t>(c) << 6;
    to[0] = static_cast<std::uint8_t>(v >> 16);
    if (rest == 3) to[1] = static_cast<std::uint8_t>(v >> 8);
    // Canonical form only: the unused low bits of the last character must be zero.
    const std::uint32_t unused = rest == 2 ? (v & 0xFFFF) : (v & 0xFF);
    if (invalid >= 0 && unused != 0) return make_error(ErrorCategory::corrupt_input, "base64url text is not in canonical form");
  }
  if (invalid < 0) return make_error(ErrorCategory::corrupt_input, "base64url text has a character outside its alphabet");
  return {};
}

Result<std::vector<std::uint8_t>> base64url_decode(std::string_view text) {
  std::vector<std::uint8_t> out;
  KW_TRY(base64url_decode_into(text, out));
  return out;
}

}  // namespace keyward::envelope
