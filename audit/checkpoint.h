// Checkpoint signatures: a checkpoint record carries `signer` (SHA-256 of the checkpoint key's DER
// SubjectPublicKeyInfo) and `sig` (base64 ECDSA P-256/SHA-256, DER, made in the token) over its own
// canonical bytes without `sig`. Those bytes include `prev`, so one signature covers the chain of
// every record before it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "audit/anchor.h"
#include "base/error.h"

namespace keyward::audit {

// Adds `signer` and `sig` to `record` (every other field already set). Errors: token.
Status sign_checkpoint(Anchor& anchor, nlohmann::json& record);

// Hex SHA-256 of a PEM public key's DER form; empty if it does not parse.
std::string public_key_fingerprint(const std::string& public_key_pem);

// True if `record`'s `sig` verifies under `public_key_pem`.
bool checkpoint_signature_valid(const nlohmann::json& record, const std::string& public_key_pem);

}  // namespace keyward::audit
