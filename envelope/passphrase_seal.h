// Sealing small secrets under a passphrase: scrypt (RFC 7914) → AES-256-GCM, for custodian shares.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/secret_bytes.h"

namespace keyward::envelope {

struct PassphraseSealed {
  std::vector<std::uint8_t> salt;        // 16 random bytes
  std::uint64_t scrypt_n = 1u << 15;     // cost parameters, stored so they can be raised later
  std::uint32_t scrypt_r = 8, scrypt_p = 1;
  std::vector<std::uint8_t> nonce;       // 12 random bytes
  std::vector<std::uint8_t> ciphertext;  // includes the 16-byte GCM tag at the end
};

// Encrypts `secret` under a key derived from `passphrase`; `associated` is authenticated, not encrypted.
Result<PassphraseSealed> seal_with_passphrase(const SecretBytes& secret, const SecretBytes& passphrase,
                                              std::span<const std::uint8_t> associated);

// Decrypts; a wrong passphrase or any change to the sealed data or `associated` is an
// authentication error.
Result<SecretBytes> open_with_passphrase(const PassphraseSealed& sealed, const SecretBytes& passphrase,
                                         std::span<const std::uint8_t> associated);

}  // namespace keyward::envelope
