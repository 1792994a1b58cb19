#include "ceremony/transcript_key.h"

#include "hierarchy/labels.h"
#include "hierarchy/policy.h"
#include "hierarchy/version_lock.h"
#include "pkcs11/key_handle_cache.h"
#include "pkcs11/scoped_object.h"

namespace keyward::ceremony {

Result<bool> ensure_transcript_key(hierarchy::KeyHierarchy& hierarchy) {
  KW_ASSIGN_OR_RETURN(hierarchy::ModuleProfile profile, hierarchy.measured_module_profile());
  // Two ceremony commands starting at once must not both create a signer (version_lock.h).
  KW_ASSIGN_OR_RETURN(auto creation_lock, hierarchy::lock_version_series(*hierarchy.pool().connection(), "transcript-signer"));
  return hierarchy.pool().run([&](p11::Session& session) -> Result<bool> {
    const std::string label = hierarchy::transcript_key_label();
    auto existing = p11::find_unique_object(session, label, CKO_PRIVATE_KEY);
    if (existing) return false;
    if (existing.error().category != ErrorCategory::not_found) return std::unexpected(existing.error());
    const std::vector<std::uint8_t> id(label.begin(), label.end());
    KW_ASSIGN_OR_RETURN(auto pair, session.generate_key_pair(p11::Mechanism{CKM_EC_KEY_PAIR_GEN, {}},
                                                             hierarchy::policy::transcript_public_template(label, id, profile),
                                                             hierarchy::policy::transcript_private_template(label, id, profile)));
    p11::ScopedObject undo_public(session, pair.first), undo_private(session, pair.second);
    KW_TRY(hierarchy::require_sole_object(session, label, CKO_PRIVATE_KEY));
    KW_TRY(hierarchy::require_sole_object(session, label, CKO_PUBLIC_KEY));
    undo_public.release();
    undo_private.release();
    return true;
  });
}

}  // namespace keyward::ceremony
