// A throwaway P-256 key for the fuzz corpora only (it signs nothing else): the signer of the seed
// transcripts and audit logs, and the key their targets verify under.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace keyward::fuzz {

// The fixture key's public half, PEM SubjectPublicKeyInfo.
const std::string& fixture_public_key_pem();
// ECDSA / SHA-256 of `data` under the fixture key, DER. Errors: internal (OpenSSL failed).
Result<std::vector<std::uint8_t>> fixture_sign(std::span<const std::uint8_t> data);

}  // namespace keyward::fuzz
