// The audit signer's key pair and the head object: labels and explicit templates. Never a module's
// defaults (SoftHSM defaults CKA_SIGN and friends to true).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "pkcs11/attributes.h"
#include "pkcs11/session.h"

namespace keyward::audit {

inline constexpr std::string_view kSignerLabel = "keyward/audit/signer";
inline constexpr std::string_view kHeadLabel = "keyward/audit/head";

p11::AttributeTemplate signer_public_template();
p11::AttributeTemplate signer_private_template();
// A data object has no CKA_ID (PKCS#11 v3.0 §4.5): the log is named in CKA_APPLICATION.
std::string head_application(std::string_view log_id);
// A head object of log `log_id` holding `value`.
p11::AttributeTemplate head_object_template(std::string_view log_id, std::string_view value);

// Finds keyward/audit/signer, or makes it when `create` (the caller holds the module's state lock).
// Returns true when it was created now. Errors: token; not_found when missing and not `create`.
Result<bool> ensure_signer_key(p11::Session& session, bool create);

}  // namespace keyward::audit
