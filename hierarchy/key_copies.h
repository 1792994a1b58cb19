// Copies of keyward's keys outside keyward's labels, found by KW fingerprint (part of verify).
//
// A user-PIN holder can unwrap a KEK's blob under the root as a token object with another label
// (no module we test lets the root's unwrap template pin CKA_TOKEN without also forbidding keyward's
// own import, nor pin the copy's CKA_UNWRAP_TEMPLATE: docs/KEY-POLICY.md). Such a copy survives
// retire. verify therefore looks at every secret key on the token, whatever its label.
#pragma once

#include <vector>

#include "hierarchy/key_hierarchy.h"
#include "hierarchy/policy_check.h"
#include "hierarchy/token_objects.h"

namespace keyward::hierarchy {

// Adds to `checks`: every token secret key outside keyward's root/KEK labels whose KW fingerprint
// equals a root's or KEK's (a copy), every secret key whose fingerprint equals a destroyed KEK's
// (deviations on that record's check), keyward keys sharing one fingerprint, and every foreign
// secret key that can wrap or unwrap. `objects` are the keyward objects already checked, each at
// the same index in `checks`. Errors: token.
Status check_key_copies(KeyHierarchy& hierarchy, p11::Session& session, const std::vector<TokenObject>& objects,
                        const ModuleProfile& profile, std::vector<ObjectCheck>& checks);

}  // namespace keyward::hierarchy
