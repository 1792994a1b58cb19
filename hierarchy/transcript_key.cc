#include "hierarchy/transcript_key.h"

#include "hierarchy/labels.h"
#include "pkcs11/key_handle_cache.h"

namespace keyward::hierarchy {

Result<bool> ensure_transcript_key(KeyHierarchy& hierarchy) {
  return hierarchy.pool().run([&](p11::Session& session) -> Result<bool> {
    const std::string label = transcript_key_label();
    auto existing = p11::find_unique_object(session, label, CKO_PRIVATE_KEY);
    if (existing) return false;
    if (existing.error().category != ErrorCategory::not_found) return std::unexpected(existing.error());
    // DER OID of prime256v1 (RFC 5480 §2.1.1.1: secp256r1 = 1.2.840.10045.3.1.7).
    static const std::vector<std::uint8_t> p256 = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    const std::vector<std::uint8_t> id(label.begin(), label.end());
    p11::AttributeTemplate public_template;
    public_template.set_ulong(CKA_CLASS, CKO_PUBLIC_KEY)
        .set_ulong(CKA_KEY_TYPE, CKK_EC)
        .set_bytes(CKA_EC_PARAMS, p256)
        .set_bool(CKA_TOKEN, true)
        .set_bool(CKA_PRIVATE, false)
        .set_bool(CKA_VERIFY, true)
        .set_bool(CKA_ENCRYPT, false)
        .set_bool(CKA_WRAP, false)
        .set_bool(CKA_DERIVE, false)
        .set_string(CKA_LABEL, label)
        .set_bytes(CKA_ID, id);
    p11::AttributeTemplate private_template;
    private_template.set_ulong(CKA_CLASS, CKO_PRIVATE_KEY)
        .set_ulong(CKA_KEY_TYPE, CKK_EC)
        .set_bool(CKA_TOKEN, true)
        .set_bool(CKA_PRIVATE, true)
        .set_bool(CKA_SENSITIVE, true)
        .set_bool(CKA_EXTRACTABLE, false)
        .set_bool(CKA_SIGN, true)
        .set_bool(CKA_DECRYPT, false)
        .set_bool(CKA_UNWRAP, false)
        .set_bool(CKA_DERIVE, false)
        .set_string(CKA_LABEL, label)
        .set_bytes(CKA_ID, id);
    KW_ASSIGN_OR_RETURN(auto pair, session.generate_key_pair(p11::Mechanism{CKM_EC_KEY_PAIR_GEN, {}}, public_template,
                                                             private_template));
    (void)pair;
    return true;
  });
}

}  // namespace keyward::hierarchy
