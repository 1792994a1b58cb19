// KekBlob: a KEK wrapped under a root (RFC 3394), with what is needed to check it on import.
// Text form: one JSON object (docs/CEREMONY.md). Ciphertext only: safe to store and transport.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace keyward::hierarchy {

struct KekBlob {
  std::string kek_family;
  std::uint32_t kek_version = 0;
  std::uint32_t root_version = 0;
  std::string root_kcv;  // KW fingerprint of the root it is wrapped under
  std::string kek_kcv;   // KW fingerprint of the KEK, checked after import
  std::vector<std::uint8_t> wrapped;

  std::string to_json() const;
  static Result<KekBlob> from_json(std::string_view text);
};

std::string to_hex(std::span<const std::uint8_t> bytes);
Result<std::vector<std::uint8_t>> from_hex(std::string_view hex);

}  // namespace keyward::hierarchy
