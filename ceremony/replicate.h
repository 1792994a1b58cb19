// Bringing another token into a set: every KEK version of one token copied to another that holds the
// same root, by the blob flow (exported wrapped under the root, imported and checked by fingerprint).
// The root itself never leaves a token: recover it on the new token from its shares first.
#pragma once

#include <string>
#include <vector>

#include "hierarchy/key_hierarchy.h"

namespace keyward::ceremony {

struct ReplicationReport {
  std::vector<hierarchy::KekInfo> copied;    // imported into the target
  std::vector<hierarchy::KekInfo> present;   // already there, with the same fingerprint
};

// Copies to `to` every KEK version of `from` it lacks; then the two tokens hold the same keys.
// Errors: policy when the roots differ or `to` has no root (recover it from the shares first), or
// when `to` holds a KEK version that differs from `from`'s (named, with both fingerprints); token for
// a failing token. Copies made before a failure stay (each is complete and checked; run it again).
Result<ReplicationReport> replicate_keks(hierarchy::KeyHierarchy& from, hierarchy::KeyHierarchy& to,
                                         const std::string& from_name, const std::string& to_name);

}  // namespace keyward::ceremony
