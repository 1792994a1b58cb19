// Data keys for envelopes: a DEK generated in the token under a KEK family's active version, and
// the resolver that unwraps an envelope's DEK under whichever version its key section names.
#pragma once

#include <string>
#include <string_view>

#include "envelope/format.h"
#include "envelope/stream.h"
#include "hierarchy/key_hierarchy.h"

namespace keyward::hierarchy {

using envelope::DataKey;

// A new DEK wrapped under the newest version of `kek_family` (the version new DEKs go under).
Result<DataKey> new_data_key(KeyHierarchy& hierarchy, std::string_view kek_family);

// Unwraps an envelope's DEK in the token. Any KEK version still on the token decrypts (dual-key
// reads during a rotation); an absent version is a not_found error naming it.
envelope::DekResolver token_dek_resolver(KeyHierarchy& hierarchy);

// Rewraps only the key section of the envelope at `path` under `target` (the DEK stays in the
// token), replacing it in place crash-safely. No-op if it is already under `target`.
Status rewrap_envelope_key_section(KeyHierarchy& hierarchy, const std::string& path, const KekRef& target);

}  // namespace keyward::hierarchy
