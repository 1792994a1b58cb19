// base64url without padding (RFC 4648 §5), for compact text values in database columns.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace keyward::envelope {

std::string base64url_encode(std::span<const std::uint8_t> bytes);
// Errors: corrupt_input for characters outside the alphabet or an impossible length.
Result<std::vector<std::uint8_t>> base64url_decode(std::string_view text);
// The same into `out` (resized to the decoded length; its capacity is reused). On error `out` is
// left with unspecified bytes.
Status base64url_decode_into(std::string_view text, std::vector<std::uint8_t>& out);

}  // namespace keyward::envelope
