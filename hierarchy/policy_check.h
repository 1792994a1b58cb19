// The policy checker: compares every keyward object on a token with the key policy.
#pragma once

#include <string>
#include <vector>

#include "hierarchy/key_hierarchy.h"
#include "base/error.h"

namespace keyward::hierarchy {

struct Deviation {
  std::string attribute;  // "CKA_EXTRACTABLE", "label", "KCV"…
  std::string expected;
  std::string actual;
  std::string why;        // the attack the expectation closes
};

struct ObjectCheck {
  std::string label;
  std::string kind;  // root, kek, kek-blob, destroyed-kek, transcript-signer, unknown, copy, foreign-key
  std::vector<Deviation> deviations;
  bool ok() const { return deviations.empty(); }
};

struct PolicyReport {
  std::vector<ObjectCheck> objects;
  std::vector<std::string> module_limits;  // attributes the module does not implement or enforce
  bool ok() const;
};

// Reads every object labelled keyward/… and checks it: usage flags, sensitivity, extractability,
// allowed mechanisms, unwrap templates, duplicates, labels outside the scheme, and that each KEK is
// the key its root-wrapped blob holds (a substituted or planted KEK fails that). Then every secret
// key on the token, whatever its label: a copy of a root or KEK (same KW fingerprint), a surviving
// copy of a destroyed KEK, or a foreign key that can wrap or unwrap is a deviation (key_copies.h).
// Thread-safe.
Result<PolicyReport> verify_token_policy(KeyHierarchy& hierarchy);

}  // namespace keyward::hierarchy
