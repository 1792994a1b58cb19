#include "pkcs11/mechanisms.h"

#include <algorithm>
#include <cstdio>

namespace keyward::p11 {

std::string mechanism_name(CK_MECHANISM_TYPE type) {
  switch (type) {
#define KW_MECHANISM_NAME(name) \
  case name:                    \
    return #name;
    KW_MECHANISM_NAME(CKM_AES_KEY_GEN)
    KW_MECHANISM_NAME(CKM_AES_KEY_WRAP)
    KW_MECHANISM_NAME(CKM_AES_KEY_WRAP_PAD)
    KW_MECHANISM_NAME(CKM_AES_ECB)
    KW_MECHANISM_NAME(CKM_AES_CBC)
    KW_MECHANISM_NAME(CKM_AES_CBC_PAD)
    KW_MECHANISM_NAME(CKM_AES_GCM)
    KW_MECHANISM_NAME(CKM_AES_CMAC)
    KW_MECHANISM_NAME(CKM_EC_KEY_PAIR_GEN)
    KW_MECHANISM_NAME(CKM_ECDSA)
    KW_MECHANISM_NAME(CKM_ECDSA_SHA256)
    KW_MECHANISM_NAME(CKM_SHA256_HMAC)
    KW_MECHANISM_NAME(CKM_GENERIC_SECRET_KEY_GEN)
#undef KW_MECHANISM_NAME
    default: {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "CKM_0x%lx", type);
      return buffer;
    }
  }
}

const std::vector<MechanismRequirement>& keyward_mechanisms() {
  static const std::vector<MechanismRequirement> mechanisms = {
      {CKM_AES_KEY_GEN, CKF_GENERATE, "generate roots, KEKs and DEKs inside the token", true},
      {CKM_AES_KEY_WRAP, CKF_WRAP | CKF_UNWRAP,
       "RFC 3394 wrap/unwrap of 32-byte keys (identical in SoftHSM and NSS; 0x210A is not)", true},
      {CKM_EC_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR, "the ceremony transcript's signing key", false},
      {CKM_ECDSA, CKF_SIGN, "signing the ceremony transcript in the token", false},
  };
  return mechanisms;
}

Result<std::vector<MechanismStatus>> check_mechanisms(const Token& token) {
  KW_ASSIGN_OR_RETURN(auto present, token.mechanisms());
  std::vector<MechanismStatus> report;
  for (const auto& requirement : keyward_mechanisms()) {
    MechanismStatus status{requirement};
    status.present = std::find(present.begin(), present.end(), requirement.type) != present.end();
    if (status.present) {
      KW_ASSIGN_OR_RETURN(auto info, token.mechanism_info(requirement.type));
      status.flags_ok = (info.flags & requirement.needed_flags) == requirement.needed_flags;
      status.min_key_size = info.ulMinKeySize;
      status.max_key_size = info.ulMaxKeySize;
    }
    report.push_back(status);
  }
  return report;
}

Status require_mechanisms(const Token& token) {
  KW_ASSIGN_OR_RETURN(auto report, check_mechanisms(token));
  std::string missing;
  for (const auto& status : report) {
    if (!status.requirement.required || status.flags_ok) continue;
    missing += missing.empty() ? "" : "; ";
    missing += mechanism_name(status.requirement.type) + (status.present ? " (lacks needed flags)" : "") + " for " +
               std::string(status.requirement.purpose);
  }
  if (!missing.empty())
    return make_error(ErrorCategory::token, "token " + token.info().describe() + " cannot serve keyward: missing " + missing);
  return {};
}

}  // namespace keyward::p11
