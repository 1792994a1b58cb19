// Mechanism support: which mechanisms keyward needs, and whether a token has them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pkcs11/ck.h"
#include "base/error.h"
#include "pkcs11/token.h"

namespace keyward::p11 {

struct MechanismRequirement {
  CK_MECHANISM_TYPE type;
  CK_FLAGS needed_flags;      // CKF_WRAP, CKF_UNWRAP, CKF_GENERATE…
  std::string_view purpose;   // why keyward needs it
  bool required;              // false: used when present (e.g. transcript signing in the token)
};

struct MechanismStatus {
  MechanismRequirement requirement;
  bool present = false;
  bool flags_ok = false;          // present with every needed flag
  CK_ULONG min_key_size = 0, max_key_size = 0;
};

// "CKM_AES_KEY_WRAP", or "CKM_0x…" when unknown.
std::string mechanism_name(CK_MECHANISM_TYPE type);

// The mechanisms keyward uses, with the reason for each.
const std::vector<MechanismRequirement>& keyward_mechanisms();

// The status of each of keyward_mechanisms() on `token`.
Result<std::vector<MechanismStatus>> check_mechanisms(const Token& token);

// Fails (ErrorCategory::token) naming every required mechanism the token lacks.
Status require_mechanisms(const Token& token);

}  // namespace keyward::p11
