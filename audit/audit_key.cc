#include "audit/audit_key.h"

#include <vector>

#include "pkcs11/key_handle_cache.h"
#include "pkcs11/scoped_object.h"

namespace keyward::audit {

p11::AttributeTemplate signer_public_template() {
  // DER OID of prime256v1 (RFC 5480 §2.1.1.1: secp256r1 = 1.2.840.10045.3.1.7).
  static const std::vector<std::uint8_t> p256 = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
  p11::AttributeTemplate t;
  t.set_ulong(CKA_CLASS, CKO_PUBLIC_KEY)
      .set_ulong(CKA_KEY_TYPE, CKK_EC)
      .set_bytes(CKA_EC_PARAMS, p256)
      .set_bool(CKA_TOKEN, true)
      .set_bool(CKA_PRIVATE, false)  // an auditor may check checkpoints without the user PIN
      .set_bool(CKA_VERIFY, true)
      .set_bool(CKA_VERIFY_RECOVER, false)
      .set_bool(CKA_ENCRYPT, false)
      .set_bool(CKA_WRAP, false)
      .set_bool(CKA_DERIVE, false)
      .set_string(CKA_LABEL, kSignerLabel)
      .set_string(CKA_ID, kSignerLabel)
      .set_bool(CKA_COPYABLE, false)
      .set_bool(CKA_MODIFIABLE, false);
  return t;
}

p11::AttributeTemplate signer_private_template() {
  // libp11 hashes on the CPU and signs the digest in the token: CKM_ECDSA only (as the transcript's key).
  static const std::vector<CK_MECHANISM_TYPE> sign_only = {CKM_ECDSA};
  p11::AttributeTemplate t;
  t.set_ulong(CKA_CLASS, CKO_PRIVATE_KEY)
      .set_ulong(CKA_KEY_TYPE, CKK_EC)
      .set_bool(CKA_TOKEN, true)
      .set_bool(CKA_PRIVATE, true)
      .set_bool(CKA_SENSITIVE, true)
      .set_bool(CKA_EXTRACTABLE, false)
      .set_bool(CKA_SIGN, true)  // its one job: sign checkpoints
      .set_bool(CKA_SIGN_RECOVER, false)
      .set_bool(CKA_DECRYPT, false)
      .set_bool(CKA_UNWRAP, false)
      .set_bool(CKA_DERIVE, false)
      .set_string(CKA_LABEL, kSignerLabel)
      .set_string(CKA_ID, kSignerLabel)
      .set_bool(CKA_COPYABLE, false)
      .set_mechanisms(CKA_ALLOWED_MECHANISMS, sign_only)
      .set_bool(CKA_MODIFIABLE, false);
  return t;
}

p11::AttributeTemplate head_object_template(std::string_view log_id, std::string_view value) {
  p11::AttributeTemplate t;
  t.set_ulong(CKA_CLASS, CKO_DATA)
      .set_bool(CKA_TOKEN, true)
      .set_bool(CKA_PRIVATE, true)  // only a logged-in keyward process moves the head
      .set_bool(CKA_MODIFIABLE, false)  // a new head is a new object: never edited in place
      .set_string(CKA_LABEL, kHeadLabel)
      .set_string(CKA_APPLICATION, head_application(log_id))
      .set_bytes(CKA_VALUE, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
  return t;
}

std::string head_application(std::string_view log_id) { return "keyward audit " + std::string(log_id); }

Result<bool> ensure_signer_key(p11::Session& session, bool create) {
  auto existing = p11::find_unique_object(session, kSignerLabel, CKO_PRIVATE_KEY);
  if (existing) return false;
  if (existing.error().category != ErrorCategory::not_found || !create) return std::unexpected(existing.error());
  KW_ASSIGN_OR_RETURN(auto pair, session.generate_key_pair(p11::Mechanism{CKM_EC_KEY_PAIR_GEN, {}}, signer_public_template(),
                                                           signer_private_template()));
  (void)pair;
  return true;
}

}  // namespace keyward::audit
