// DestroyedKek: the record, kept on the token, that a KEK version was destroyed (retire).
//
// A copy of a KEK made outside keyward (e.g. its on-token blob unwrapped under the root as a token
// object with another label) survives the destruction of the KEK itself. The record keeps the
// destroyed key's KW fingerprint, so `verify` can prove afterwards that no key with that
// fingerprint remains anywhere on the token. A private, non-modifiable CKO_DATA object labelled
// keyward/destroyed-kek/<NAME>/v<N>; its value is one JSON object (no key material: the fingerprint
// reveals nothing usable about the key, docs/KEY-POLICY.md). Modules without CKO_DATA token objects
// (NSS softoken) cannot keep it: verify then reports that limit.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "pkcs11/session.h"

namespace keyward::hierarchy {

struct DestroyedKek {
  std::string kek_family;
  std::uint32_t kek_version = 0;
  std::string kw_fingerprint;    // of the destroyed key
  std::int64_t destroyed_at = 0;  // seconds since the epoch

  std::string to_json() const;
  static Result<DestroyedKek> from_json(std::string_view text);
};

// Stores `record` on the token unless a record for that version is there already (a retried
// retire). Errors: token.
Status record_destroyed_kek(p11::Session& session, const DestroyedKek& record);

// Every destroyed-KEK record on the token. A record that does not parse is an error
// (corrupt_input), never skipped: skipping it would hide a surviving copy.
Result<std::vector<DestroyedKek>> destroyed_keks(p11::Session& session);

}  // namespace keyward::hierarchy
