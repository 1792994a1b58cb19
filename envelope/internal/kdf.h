// HKDF-SHA-256 (RFC 5869) through OpenSSL's EVP_KDF, for deriving per-purpose subkeys from a DEK.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/error.h"
#include "base/secret_bytes.h"

namespace keyward::envelope {

// RFC 5869 extract-and-expand: `length` bytes of output keying material from `key`, `salt` and
// `info`. Fails only if OpenSSL does (reported as an internal error). Thread-safe.
Result<SecretBytes> hkdf_sha256(const SecretBytes& key, std::span<const std::uint8_t> salt,
                                std::span<const std::uint8_t> info, std::size_t length);

// Convenience for ASCII labels used as `info`.
Result<SecretBytes> hkdf_sha256(const SecretBytes& key, std::span<const std::uint8_t> salt,
                                std::string_view info, std::size_t length);

}  // namespace keyward::envelope
