// Mapping PKCS#11 return values (CK_RV) to names, hints and keyward errors.
#pragma once

#include <string_view>

#include "base/error.h"

namespace keyward::p11 {

// "CKR_PIN_INCORRECT" for 0xA0; "CKR_VENDOR_DEFINED+0x…" or "CKR_0x…" when unknown.
std::string ck_rv_name(unsigned long rv);

// What the user can do about `rv` ("check the file named by pin-source"), or "" when nothing useful.
std::string_view ck_rv_hint(unsigned long rv);

// The error for a failed PKCS#11 call: "<function>: <CKR_NAME> — <hint>", category token (or
// authentication for data that failed a check: wrapped key/ciphertext/signature invalid).
Error token_error(std::string_view function, unsigned long rv);

// True for return values after which the session or login is gone and reopening may help.
bool is_lost_session(unsigned long rv);

}  // namespace keyward::p11
