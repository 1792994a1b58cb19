// What a refused token unwrap of a wrapped key means: the wrapped bytes failed their integrity check.
#pragma once

#include <string_view>

#include "base/error.h"
#include "pkcs11/session.h"

namespace keyward::hierarchy {

// Passes `unwrapped` through, except an unwrap refusal that means the wrapped bytes do not
// authenticate under the unwrapping key: that becomes an authentication error (exit 1) saying
// `what` failed its integrity check, with the CK_RV kept. RFC 3394 §2.2.3: "If the [integrity
// check value] does not match, return an error"; SoftHSM 2.6 reports that error as
// CKR_GENERAL_ERROR (sometimes CKR_WRAPPED_KEY_INVALID or CKR_ENCRYPTED_DATA_INVALID, and a wrong
// length as CKR_WRAPPED_KEY_LEN_RANGE) — a tampered wrapped key, not a broken token.
// Use only around the token unwrap of bytes that came from outside the token (an envelope slot, a
// catalog row, a KEK blob).
Result<p11::ObjectHandle> as_wrapped_key_failure(Result<p11::ObjectHandle> unwrapped, std::string_view what);

}  // namespace keyward::hierarchy
