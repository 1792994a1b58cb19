// KEKs: versioned wrap-only keys, created under the root so that their blob is their backup.
#include <algorithm>
#include <chrono>
#include <utility>

#include "hierarchy/audited.h"
#include "hierarchy/destroyed_kek.h"
#include "hierarchy/key_hierarchy.h"
#include "hierarchy/labels.h"
#include "hierarchy/policy.h"
#include "hierarchy/token_objects.h"
#include "hierarchy/version_lock.h"
#include "hierarchy/wrapped_key_errors.h"
#include "pkcs11/scoped_object.h"

namespace keyward::hierarchy {
namespace {

std::vector<std::uint8_t> object_id(std::string_view label) { return {label.begin(), label.end()}; }

p11::AttributeTemplate blob_object_template(const KekBlob& blob) {
  const std::string label = kek_blob_label(blob.kek_family, blob.kek_version);
  const std::string text = blob.to_json();
  p11::AttributeTemplate t;
  t.set_ulong(CKA_CLASS, CKO_DATA)
      .set_bool(CKA_TOKEN, true)
      .set_bool(CKA_PRIVATE, true)
      .set_string(CKA_LABEL, label)
      .set_string(CKA_APPLICATION, "keyward")
      .set_string(CKA_VALUE, text)
      .set_bool(CKA_MODIFIABLE, false);
  return t;
}

// The newest version of family `family` the token has ever held: KEKs, their blobs and the records of
// destroyed versions all count, so a retired version's number (and label) is never reused.
std::uint32_t newest_version_ever(const std::vector<TokenObject>& objects, std::string_view family) {
  std::uint32_t newest = 0;
  for (const auto& object : objects) {
    if (object.parsed && object.parsed->kek_family == family &&
        (object.parsed->kind == ParsedLabel::Kind::kek || object.parsed->kind == ParsedLabel::Kind::kek_blob ||
         object.parsed->kind == ParsedLabel::Kind::destroyed_kek))
      newest = std::max(newest, object.parsed->version);
  }
  return newest;
}

Result<RootInfo> latest_root(KeyHierarchy& hierarchy) {
  auto roots = rescan_while_objects_vanish([&] { return hierarchy.roots(); });
  if (!roots) return std::unexpected(roots.error());
  if (roots->empty()) return make_error(ErrorCategory::not_found, "the token has no keyward root: run keyward-ceremony init first");
  return roots->back();
}

}  // namespace

Result<std::vector<KekInfo>> KeyHierarchy::list_keks() {
  return pool_->run([&](p11::Session& session) -> Result<std::vector<KekInfo>> {
    KW_ASSIGN_OR_RETURN(auto objects, list_keyward_objects(session));
    std::vector<KekInfo> keks;
    for (const auto& object : objects) {
      if (!object.parsed || object.parsed->kind != ParsedLabel::Kind::kek || object.object_class != CKO_SECRET_KEY)
        continue;
      KekInfo info;
      info.ref = KekRef{object.parsed->kek_family, object.parsed->version};
      auto kcv = key_check_value(session, object.handle);
      if (!kcv && is_vanished_object(kcv.error())) continue;  // destroyed since the listing (a retire)
      if (!kcv) return std::unexpected(std::move(kcv).error());
      info.kcv = std::move(*kcv);
      const std::string blob_label = kek_blob_label(info.ref.family, info.ref.version);
      info.blob_on_token = std::any_of(objects.begin(), objects.end(),
                                       [&](const TokenObject& o) { return o.label == blob_label && o.object_class == CKO_DATA; });
      keks.push_back(std::move(info));
    }
    std::sort(keks.begin(), keks.end(), [](const KekInfo& a, const KekInfo& b) {
      return std::tie(a.ref.family, a.ref.version) < std::tie(b.ref.family, b.ref.version);
    });
    return keks;
  });
}

Result<std::vector<KekRef>> KeyHierarchy::kek_versions_on_token() {
  return pool_->run([&](p11::Session& session) -> Result<std::vector<KekRef>> {
    KW_ASSIGN_OR_RETURN(auto objects, list_keyward_objects(session));
    std::vector<KekRef> out;
    for (const auto& object : objects)
      if (object.parsed && object.parsed->kind == ParsedLabel::Kind::kek && object.object_class == CKO_SECRET_KEY)
        out.push_back(KekRef{object.parsed->kek_family, object.parsed->version});
    return out;
  });
}

Result<std::uint32_t> KeyHierarchy::latest_kek_version(std::string_view family) {
  KW_TRY(validate_kek_family(family));
  return pool_->run([&](p11::Session& session) -> Result<std::uint32_t> {
    KW_ASSIGN_OR_RETURN(auto objects, list_keyward_objects(session));
    std::uint32_t latest = 0;
    for (const auto& object : objects) {
      if (object.parsed && object.parsed->kind == ParsedLabel::Kind::kek && object.parsed->kek_family == family)
        latest = std::max(latest, object.parsed->version);
    }
    return latest;
  });
}

Result<KekCreated> KeyHierarchy::create_kek(std::string_view family) {
  KW_TRY(validate_kek_family(family));
  KW_ASSIGN_OR_RETURN(ModuleProfile profile, module_profile());
  KW_ASSIGN_OR_RETURN(RootInfo root, latest_root(*this));
  // Choose-version + create is one critical section across keyward processes: without it two
  // concurrent creators both make a v(N+1) (issue 9).
  KW_ASSIGN_OR_RETURN(auto version_lock, lock_version_series(*pool_->connection(), "kek/" + std::string(family)));

  return audited<KekCreated>(pool_->run([&](p11::Session& session) -> Result<KekCreated> {
    // A fresh scan under the lock (never a cached answer): the version another process created a
    // moment ago must count.
    KW_ASSIGN_OR_RETURN(auto objects, rescan_while_objects_vanish([&] { return list_keyward_objects(session); }));
    const KekRef ref{std::string(family), newest_version_ever(objects, family) + 1};
    const std::string label = ref.label();
    KW_ASSIGN_OR_RETURN(p11::ObjectHandle root_key, key_handle(session, root.label));
    // 1. Fresh material in the token, as an extractable session key that lives only for this call.
    KW_ASSIGN_OR_RETURN(p11::ObjectHandle material, session.generate_key(p11::aes_key_gen(), policy::kek_material_template()));
    p11::ScopedObject destroy_material(session, material);
    // 2. The KEK blob: the material wrapped under the root (backup and transfer).
    KW_ASSIGN_OR_RETURN(auto wrapped, session.wrap_key(p11::aes_key_wrap(), root_key, material));
    // 3. The token KEK: the blob unwrapped under the root, whose CKA_UNWRAP_TEMPLATE imposes the policy.
    auto kek = create_retrying_module_races(session, label, CKO_SECRET_KEY, [&] {
      return session.unwrap_key(p11::aes_key_wrap(), root_key, wrapped,
                                policy::kek_unwrap_template(label, object_id(label), true, profile));
    });
    if (!kek) return fail(kek.error());
    p11::ScopedObject undo_kek(session, *kek);
    // The check after: a creator outside keyward's lock may have made the same label.
    KW_TRY(require_sole_object(session, label, CKO_SECRET_KEY));
    KekCreated created;
    created.info.ref = ref;
    KW_ASSIGN_OR_RETURN(created.info.kcv, key_check_value(session, *kek));
    created.blob = KekBlob{ref.family, ref.version, root.version, root.kcv.kw_fingerprint, created.info.kcv.kw_fingerprint,
                           std::move(wrapped)};
    // 4. Keep the blob on the token too (ciphertext under the root), so `kek export` can give it later.
    if (profile.data_objects) {
      const std::string blob_label = kek_blob_label(ref.family, ref.version);
      KW_ASSIGN_OR_RETURN(auto blob_object, create_retrying_module_races(session, blob_label, CKO_DATA, [&] {
        return session.create_object(blob_object_template(created.blob));
      }));
      p11::ScopedObject undo_blob(session, blob_object);
      KW_TRY(require_sole_object(session, blob_label, CKO_DATA));
      undo_blob.release();
      created.info.blob_on_token = true;
    }
    undo_kek.release();
    return created;
  }), audit::Event{"kek.create", "ok", "", std::string(family), {}},
      [](const KekCreated& created, audit::Event& event) { event.key = created.info.ref.label(); });
}

Result<KekBlob> KeyHierarchy::export_kek(const KekRef& ref) {
  return audited<KekBlob>(pool_->run([&](p11::Session& session) -> Result<KekBlob> {
    KW_ASSIGN_OR_RETURN(p11::ObjectHandle object,
                        pool_->key_handles().find(session, kek_blob_label(ref.family, ref.version), CKO_DATA));
    KW_ASSIGN_OR_RETURN(auto value, session.get_attribute(object, CKA_VALUE));
    return KekBlob::from_json(value.as_string());
  }), audit::Event{"kek.export", "ok", ref.label(), ref.family, {}});
}

Result<KekInfo> KeyHierarchy::import_kek(const KekBlob& blob) {
  KW_TRY(validate_kek_family(blob.kek_family));
  KW_ASSIGN_OR_RETURN(ModuleProfile profile, module_profile());
  KW_ASSIGN_OR_RETURN(auto roots, this->roots());
  auto root = std::find_if(roots.begin(), roots.end(), [&](const RootInfo& r) { return r.version == blob.root_version; });
  if (root == roots.end())
    return make_error(ErrorCategory::not_found, "the KEK blob is wrapped under root v" + std::to_string(blob.root_version) +
                                                    ", which this token does not hold: recover that root first");
  if (root->kcv.kw_fingerprint != blob.root_kcv)
    return make_error(ErrorCategory::policy, "the token's " + root->label + " (KCV " + root->kcv.kw_fingerprint +
                                                 ") is not the root the blob was wrapped under (KCV " + blob.root_kcv + ")");
  const KekRef ref{blob.kek_family, blob.kek_version};
  const std::string label = ref.label();
  // The same lock as create_kek: the "is the label free?" check and the unwrap are one step.
  KW_ASSIGN_OR_RETURN(auto version_lock, lock_version_series(*pool_->connection(), "kek/" + blob.kek_family));
  return audited<KekInfo>(pool_->run([&](p11::Session& session) -> Result<KekInfo> {
    if (auto existing = p11::find_unique_object(session, label, CKO_SECRET_KEY);
        existing || existing.error().category != ErrorCategory::not_found)
      return make_error(ErrorCategory::usage, "the token already holds " + label + ": refusing to import over it");
    KW_ASSIGN_OR_RETURN(p11::ObjectHandle root_key, key_handle(session, root->label));
    KW_ASSIGN_OR_RETURN(p11::ObjectHandle kek,
                        as_wrapped_key_failure(create_retrying_module_races(session, label, CKO_SECRET_KEY, [&] {
                          return session.unwrap_key(p11::aes_key_wrap(), root_key, blob.wrapped,
                                                    policy::kek_unwrap_template(label, object_id(label), true, profile));
                        }), "the KEK blob of " + label));
    p11::ScopedObject undo_kek(session, kek);
    KW_TRY(require_sole_object(session, label, CKO_SECRET_KEY));
    KekInfo info;
    info.ref = ref;
    KW_ASSIGN_OR_RETURN(info.kcv, key_check_value(session, kek));
    if (info.kcv.kw_fingerprint != blob.kek_kcv)
      return make_error(ErrorCategory::authentication, "imported " + label + " has KCV " + info.kcv.kw_fingerprint +
                                                           " but the blob says " + blob.kek_kcv + ": not imported");
    if (profile.data_objects) {
      const std::string blob_label = kek_blob_label(ref.family, ref.version);
      KW_ASSIGN_OR_RETURN(auto blob_object, create_retrying_module_races(session, blob_label, CKO_DATA, [&] {
        return session.create_object(blob_object_template(blob));
      }));
      p11::ScopedObject undo_blob(session, blob_object);
      KW_TRY(require_sole_object(session, blob_label, CKO_DATA));
      undo_blob.release();
      info.blob_on_token = true;
    }
    undo_kek.release();
    return info;
  }), audit::Event{"kek.import", "ok", "", blob.kek_family, {}},
      [](const KekInfo& info, audit::Event& event) { event.key = info.ref.label(); });
}

Result<p11::ObjectHandle> KeyHierarchy::rewrap_kek_handle(p11::Session& session, const KekRef& ref) {
  if (!options_.session_kek_copies_for_rewrap) return key_handle(session, ref.label());
  const std::string copy_label = session_kek_label(ref.family, ref.version);
  auto cached = key_handle(session, copy_label);
  if (cached || cached.error().category != ErrorCategory::not_found) return cached;
  auto blob_object = p11::find_unique_object(session, kek_blob_label(ref.family, ref.version), CKO_DATA);
  if (!blob_object && blob_object.error().category == ErrorCategory::not_found) return key_handle(session, ref.label());
  if (!blob_object) return std::unexpected(blob_object.error());
  KW_ASSIGN_OR_RETURN(auto value, session.get_attribute(*blob_object, CKA_VALUE));
  KW_ASSIGN_OR_RETURN(auto blob, KekBlob::from_json(value.as_string()));
  if (blob.kek_family != ref.family || blob.kek_version != ref.version)
    return make_error(ErrorCategory::policy, "the blob object of " + ref.label() + " holds " + kek_label(blob.kek_family, blob.kek_version));
  KW_ASSIGN_OR_RETURN(ModuleProfile profile, module_profile());  // cached: rewrap_dek_in_token probed it first
  KW_ASSIGN_OR_RETURN(p11::ObjectHandle root_key, key_handle(session, root_label(blob.root_version)));
  KW_ASSIGN_OR_RETURN(p11::ObjectHandle copy,
                      as_wrapped_key_failure(session.unwrap_key(p11::aes_key_wrap(), root_key, blob.wrapped,
                                                                policy::kek_unwrap_template(copy_label, object_id(copy_label), false, profile)),
                                             "the on-token blob of " + ref.label()));
  p11::ScopedObject guard(session, copy);
  // The copy must be the very key the token KEK is: same KW fingerprint as the token object.
  KW_ASSIGN_OR_RETURN(p11::ObjectHandle token_kek, key_handle(session, ref.label()));
  KW_ASSIGN_OR_RETURN(auto copy_kcv, key_check_value(session, copy));
  KW_ASSIGN_OR_RETURN(auto token_kcv, key_check_value(session, token_kek));
  if (copy_kcv.kw_fingerprint != token_kcv.kw_fingerprint)
    return make_error(ErrorCategory::authentication, "the blob of " + ref.label() + " unwraps to KCV " + copy_kcv.kw_fingerprint +
                                                         ", not the token KEK's " + token_kcv.kw_fingerprint);
  guard.release();
  return key_handle(session, copy_label);
}

Status KeyHierarchy::destroy_kek(const KekRef& ref) {
  KW_ASSIGN_OR_RETURN(ModuleProfile profile, measured_module_profile());  // retire never refuses a limited module
  return audited<void>(pool_->run([&](p11::Session& session) -> Status {
    const std::string blob_label = kek_blob_label(ref.family, ref.version);
    auto blob = p11::find_unique_object(session, blob_label, CKO_DATA);
    auto kek = key_handle(session, ref.label());
    // A retire interrupted after the key went: finish by removing the blob it left (a root-wrapped copy).
    if (!kek && blob) {
      KW_TRY(session.destroy_object(*blob));
      pool_->key_handles().forget(blob_label);
      return {};
    }
    if (!kek) return fail(kek.error());
    // First the record of the destroyed key's fingerprint, then the blob, then the key: a crash in
    // between leaves a record of a key that still exists (verify reports it, a rerun finishes), never
    // a key gone without a trace, nor a root-wrapped copy of a destroyed key.
    if (profile.data_objects) {
      KW_ASSIGN_OR_RETURN(auto kcv, key_check_value(session, *kek));
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      KW_TRY(record_destroyed_kek(session, DestroyedKek{ref.family, ref.version, kcv.kw_fingerprint,
                                                        std::chrono::duration_cast<std::chrono::seconds>(now).count()}));
    }
    if (blob) {
      KW_TRY(session.destroy_object(*blob));
      pool_->key_handles().forget(blob_label);
    }
    KW_TRY(session.destroy_object(*kek));
    pool_->key_handles().forget(ref.label());
    return {};
  }), audit::Event{"kek.destroy", "ok", ref.label(), ref.family, {}});
}

}  // namespace keyward::hierarchy
