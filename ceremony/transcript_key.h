// The transcript's signing key: an EC P-256 key pair in the token (private half sensitive,
// non-extractable, sign-only), created on first use.
#pragma once

#include "hierarchy/key_hierarchy.h"

namespace keyward::ceremony {

// Creates keyward/transcript-signer if the token lacks it. Returns true if it was created now.
Result<bool> ensure_transcript_key(hierarchy::KeyHierarchy& hierarchy);

}  // namespace keyward::ceremony
