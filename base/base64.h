// Standard base64 (RFC 4648, with padding) for signatures in JSON lines (transcripts, audit checkpoints).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keyward {

std::string base64_encode(std::span<const std::uint8_t> bytes);
// nullopt for anything that is not canonical padded base64 (a length not a multiple of 4, a foreign
// character, more than two '=').
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace keyward
