// Root keys: generated in the token, or imported once from M-of-N shares.
#include <openssl/rand.h>

#include <algorithm>

#include "hierarchy/audited.h"
#include "hierarchy/key_hierarchy.h"
#include "hierarchy/labels.h"
#include "hierarchy/policy.h"
#include "hierarchy/token_objects.h"
#include "hierarchy/version_lock.h"
#include "pkcs11/scoped_object.h"

namespace keyward::hierarchy {
namespace {

std::vector<std::uint8_t> object_id(std::string_view label) {
  // CKA_ID: the label's bytes, so that pkcs11-tool --id and --label name the same object.
  return {label.begin(), label.end()};
}

}  // namespace

Result<RootInfo> KeyHierarchy::root_info(p11::Session& session, std::uint32_t version) {
  RootInfo info;
  info.version = version;
  info.label = root_label(version);
  KW_ASSIGN_OR_RETURN(p11::ObjectHandle key, key_handle(session, info.label));
  KW_ASSIGN_OR_RETURN(auto local, session.get_attribute(key, CKA_LOCAL));
  info.generated_in_token = local.as_bool();
  KW_ASSIGN_OR_RETURN(info.kcv, key_check_value(session, key));
  return info;
}

Result<std::vector<RootInfo>> KeyHierarchy::roots() {
  return pool_->run([&](p11::Session& session) -> Result<std::vector<RootInfo>> {
    KW_ASSIGN_OR_RETURN(auto objects, list_keyward_objects(session));
    std::vector<RootInfo> roots;
    for (const auto& object : objects) {
      if (!object.parsed || object.parsed->kind != ParsedLabel::Kind::root || object.object_class != CKO_SECRET_KEY)
        continue;
      KW_ASSIGN_OR_RETURN(auto info, root_info(session, object.parsed->version));
      roots.push_back(std::move(info));
    }
    std::sort(roots.begin(), roots.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    return roots;
  });
}

Result<std::uint32_t> KeyHierarchy::next_root_version(bool new_version) {
  KW_ASSIGN_OR_RETURN(auto existing, rescan_while_objects_vanish([&] { return roots(); }));
  if (existing.empty()) return 1u;
  if (!new_version)
    return make_error(ErrorCategory::usage, "the token already holds root " + existing.back().label +
                                                ": pass --new-version to create root v" +
                                                std::to_string(existing.back().version + 1));
  return existing.back().version + 1;
}

Result<RootInfo> KeyHierarchy::create_generated_root(bool new_version) {
  KW_ASSIGN_OR_RETURN(ModuleProfile profile, module_profile());
  // Choose-version + create under the version lock, as for KEKs (version_lock.h).
  KW_ASSIGN_OR_RETURN(auto version_lock, lock_version_series(*pool_->connection(), "root"));
  KW_ASSIGN_OR_RETURN(std::uint32_t version, next_root_version(new_version));
  const std::string label = root_label(version);
  return audited<RootInfo>(pool_->run([&](p11::Session& session) -> Result<RootInfo> {
    KW_ASSIGN_OR_RETURN(auto key, create_retrying_module_races(session, label, CKO_SECRET_KEY, [&] {
      return session.generate_key(p11::aes_key_gen(), policy::root_generate_template(label, object_id(label), profile));
    }));
    p11::ScopedObject undo(session, key);
    KW_TRY(require_sole_object(session, label, CKO_SECRET_KEY));
    KW_ASSIGN_OR_RETURN(auto info, root_info(session, version));
    undo.release();
    return info;
  }), audit::Event{"root.create", "ok", label, "", {{"version", version}}});
}

Result<SecretBytes> KeyHierarchy::root_material_from_token_rng() {
  return pool_->run([](p11::Session& session) { return session.generate_random(policy::kKeyBytes); });
}

Result<RootInfo> KeyHierarchy::import_root(const SecretBytes& material, std::uint32_t version, bool new_version) {
  if (material.size() != policy::kKeyBytes)
    return make_error(ErrorCategory::usage, "root material must be 32 bytes (AES-256)");
  KW_ASSIGN_OR_RETURN(ModuleProfile profile, module_profile());
  KW_ASSIGN_OR_RETURN(auto version_lock, lock_version_series(*pool_->connection(), "root"));
  if (version == 0) {
    KW_ASSIGN_OR_RETURN(version, next_root_version(new_version));
  } else {
    KW_ASSIGN_OR_RETURN(auto existing, rescan_while_objects_vanish([&] { return roots(); }));
    for (const auto& root : existing) {
      if (root.version == version)
        return make_error(ErrorCategory::usage, "the token already holds " + root.label + ": refusing to import over it");
    }
  }
  const std::string label = root_label(version);
  return audited<RootInfo>(pool_->run([&](p11::Session& session) -> Result<RootInfo> {
    KW_ASSIGN_OR_RETURN(auto key, create_retrying_module_races(session, label, CKO_SECRET_KEY, [&] {
      return session.create_object(policy::root_import_template(label, object_id(label), material, profile));
    }));
    p11::ScopedObject undo(session, key);
    KW_TRY(require_sole_object(session, label, CKO_SECRET_KEY));
    KW_ASSIGN_OR_RETURN(auto info, root_info(session, version));
    undo.release();
    return info;
  }), audit::Event{"root.import", "ok", label, "", {{"version", version}}});
}

}  // namespace keyward::hierarchy
