#include "hierarchy/policy_check.h"

#include <algorithm>
#include <map>
#include <set>

#include "audit/recorder.h"
#include "hierarchy/key_copies.h"
#include "hierarchy/labels.h"
#include "hierarchy/policy.h"
#include "hierarchy/token_objects.h"
#include "pkcs11/scoped_object.h"

namespace keyward::hierarchy {
namespace {

std::string yes_no(bool value) { return value ? "true" : "false"; }

// (type, value) pairs of a template as the module reports it, for comparison as a set.
using AttributeSet = std::set<std::pair<CK_ATTRIBUTE_TYPE, std::vector<std::uint8_t>>>;

AttributeSet as_set(const std::vector<p11::AttributeValue>& values) {
  AttributeSet set;
  for (const auto& v : values) set.emplace(v.type, v.bytes);
  return set;
}

AttributeSet as_set(const p11::AttributeTemplate& t) {
  AttributeSet set;
  for (CK_ULONG i = 0; i < t.size(); ++i) {
    const auto& a = t.data()[i];
    const auto* bytes = static_cast<const std::uint8_t*>(a.pValue);
    set.emplace(a.type, std::vector<std::uint8_t>(bytes, bytes + a.ulValueLen));
  }
  return set;
}

Status check_wrapping_key(p11::Session& session, const TokenObject& object, const ModuleProfile& profile,
                          ObjectCheck& out) {
  if (object.object_class != CKO_SECRET_KEY) {
    out.deviations.push_back({"CKA_CLASS", "CKO_SECRET_KEY", std::to_string(object.object_class),
                              "a root or KEK is an AES secret key"});
    return {};
  }
  KW_ASSIGN_OR_RETURN(auto key_type, session.get_attribute(object.handle, CKA_KEY_TYPE));
  if (key_type.as_ulong() != CKK_AES)
    out.deviations.push_back({"CKA_KEY_TYPE", "CKK_AES", std::to_string(key_type.as_ulong()), "keyward keys are AES-256"});
  for (const auto& flag : policy::wrapping_key_flags(profile)) {
    KW_ASSIGN_OR_RETURN(auto value, session.get_attribute(object.handle, flag.type));
    if (!value.available) {
      out.deviations.push_back({p11::attribute_name(flag.type), yes_no(flag.expected), "(unavailable)", std::string(flag.closes)});
    } else if (value.as_bool() != flag.expected) {
      out.deviations.push_back({p11::attribute_name(flag.type), yes_no(flag.expected), yes_no(value.as_bool()),
                                std::string(flag.closes)});
    }
  }
  if (profile.allowed_mechanisms) {
    KW_ASSIGN_OR_RETURN(auto mechanisms, session.get_attribute(object.handle, CKA_ALLOWED_MECHANISMS));
    if (mechanisms.as_ulongs() != std::vector<CK_ULONG>(policy::wrap_mechanisms().begin(), policy::wrap_mechanisms().end()))
      out.deviations.push_back({"CKA_ALLOWED_MECHANISMS", "{CKM_AES_KEY_WRAP}", mechanisms.available ? "other" : "(unset)",
                                "only RFC 3394 wrapping; no weaker or padding-oracle-prone mechanism"});
  }
  if (profile.unwrap_template) {
    const bool is_root = object.parsed && object.parsed->kind == ParsedLabel::Kind::root;
    KW_ASSIGN_OR_RETURN(auto actual, session.get_template_attribute(object.handle, CKA_UNWRAP_TEMPLATE));
    auto expected = is_root ? policy::root_unwrap_template(profile) : policy::kek_own_unwrap_template();
    if (as_set(actual) != as_set(expected))
      out.deviations.push_back({"CKA_UNWRAP_TEMPLATE", is_root ? "the KEK policy" : "session data keys only",
                                actual.empty() ? "(unset)" : "different",
                                is_root ? "keys unwrapped under the root must be KEKs under policy"
                                        : "a KEK must not plant token keys or new wrapping keys"});
  }
  return {};
}

// A KEK must be exactly the key its blob (wrapped under the root) holds: unwrap the blob as a
// session object and compare fingerprints. Catches a KEK created outside the ceremony.
Status check_kek_against_blob(KeyHierarchy& hierarchy, p11::Session& session, const TokenObject& kek,
                              const std::vector<TokenObject>& objects, const ModuleProfile& profile, ObjectCheck& out) {
  const std::string blob_label = kek_blob_label(kek.parsed->kek_family, kek.parsed->version);
  auto blob_object = std::find_if(objects.begin(), objects.end(), [&](const TokenObject& o) { return o.label == blob_label; });
  if (blob_object == objects.end()) {
    if (profile.data_objects)
      out.deviations.push_back({"KEK blob", blob_label, "(missing)", "without its root-wrapped blob the KEK's origin cannot be proven"});
    return {};
  }
  KW_ASSIGN_OR_RETURN(auto value, session.get_attribute(blob_object->handle, CKA_VALUE));
  auto blob = KekBlob::from_json(value.as_string());
  if (!blob) {
    out.deviations.push_back({"KEK blob", "a keyward KEK blob", "unreadable", "the backup of this KEK is damaged"});
    return {};
  }
  auto root = hierarchy.pool().key_handles().find(session, root_label(blob->root_version));
  if (!root) {
    out.deviations.push_back({"KEK blob", "root v" + std::to_string(blob->root_version), "(root missing)",
                              "the KEK cannot be restored from its blob"});
    return {};
  }
  auto copy = session.unwrap_key(p11::aes_key_wrap(), *root, blob->wrapped,
                                 policy::kek_unwrap_template("keyward/verify/blob-check", {}, false, profile));
  if (!copy) {
    out.deviations.push_back({"KEK blob", "unwraps under its root", copy.error().message, "the blob is not this root's"});
    return {};
  }
  p11::ScopedObject destroy(session, *copy);
  KW_ASSIGN_OR_RETURN(auto from_blob, hierarchy.key_check_value(session, *copy));
  KW_ASSIGN_OR_RETURN(auto on_token, hierarchy.key_check_value(session, kek.handle));
  if (from_blob.kw_fingerprint != on_token.kw_fingerprint)
    out.deviations.push_back({"KCV", from_blob.kw_fingerprint, on_token.kw_fingerprint,
                              "the token KEK is not the key its root-wrapped blob holds (substituted or planted)"});
  return {};
}

Status check_flags(p11::Session& session, p11::ObjectHandle handle, const std::vector<policy::Expectation>& flags,
                   ObjectCheck& out) {
  for (const auto& flag : flags) {
    KW_ASSIGN_OR_RETURN(auto value, session.get_attribute(handle, flag.type));
    if (!value.available || value.as_bool() != flag.expected)
      out.deviations.push_back({p11::attribute_name(flag.type), yes_no(flag.expected),
                                value.available ? yes_no(value.as_bool()) : "(unavailable)", std::string(flag.closes)});
  }
  return {};
}

// The transcript key pair: the explicit template of policy::transcript_*_template, never a
// module's defaults (SoftHSM's: modifiable, copyable, sign-recover, any mechanism).
Status check_transcript_key(p11::Session& session, const TokenObject& object, const ModuleProfile& profile,
                            ObjectCheck& out) {
  if (object.object_class == CKO_PUBLIC_KEY) return check_flags(session, object.handle, policy::transcript_public_flags(profile), out);
  if (object.object_class != CKO_PRIVATE_KEY) {
    out.deviations.push_back({"CKA_CLASS", "CKO_PRIVATE_KEY or CKO_PUBLIC_KEY", std::to_string(object.object_class),
                              "the transcript signer is an EC key pair"});
    return {};
  }
  KW_TRY(check_flags(session, object.handle, policy::transcript_private_flags(profile), out));
  if (profile.allowed_mechanisms) {
    KW_ASSIGN_OR_RETURN(auto mechanisms, session.get_attribute(object.handle, CKA_ALLOWED_MECHANISMS));
    const auto& expected = policy::transcript_sign_mechanisms();
    if (mechanisms.as_ulongs() != std::vector<CK_ULONG>(expected.begin(), expected.end()))
      out.deviations.push_back({"CKA_ALLOWED_MECHANISMS", "{CKM_ECDSA}", mechanisms.available ? "other" : "(unset)",
                                "the signing key signs with ECDSA only"});
  }
  return {};
}

}  // namespace

bool PolicyReport::ok() const {
  return std::all_of(objects.begin(), objects.end(), [](const ObjectCheck& c) { return c.ok(); });
}

Result<PolicyReport> verify_token_policy(KeyHierarchy& hierarchy) {
  // Checking never refuses a limited module: it reports the limits instead.
  KW_ASSIGN_OR_RETURN(ModuleProfile profile, hierarchy.measured_module_profile());
  PolicyReport report;
  report.module_limits = profile.missing();
  Status checked = hierarchy.pool().run([&](p11::Session& session) -> Status {
    report.objects.clear();
    KW_ASSIGN_OR_RETURN(auto objects, list_keyward_objects(session));
    // A key pair legitimately shares its label between the public and the private half.
    std::map<std::pair<std::string, CK_OBJECT_CLASS>, int> label_count;
    for (const auto& object : objects) ++label_count[{object.label, object.object_class}];
    for (const auto& object : objects) {
      ObjectCheck check;
      check.label = object.label;
      // Except the audit heads: one per audit log (told apart by CKA_APPLICATION), and two of one log
      // for a moment while a head moves. Not a key; the verifier takes the latest, so a planted head can
      // only make `audit verify` report a truncation, never hide one.
      const bool audit_head = object.parsed && object.parsed->kind == ParsedLabel::Kind::audit_head;
      if (int count = label_count[{object.label, object.object_class}]; count > 1 && !audit_head)
        check.deviations.push_back({"label", "unique", std::to_string(count) + " objects",
                                    "a duplicate label lets a planted key stand in for the real one"});
      if (!object.parsed) {
        check.kind = "unknown";
        check.deviations.push_back({"label", "keyward/root/vN, keyward/kek/NAME/vN, keyward/kek-blob/NAME/vN",
                                    object.label, "a foreign object posing as a keyward key"});
      } else {
        switch (object.parsed->kind) {
          case ParsedLabel::Kind::root:
            check.kind = "root";
            KW_TRY(check_wrapping_key(session, object, profile, check));
            break;
          case ParsedLabel::Kind::kek:
            check.kind = "kek";
            KW_TRY(check_wrapping_key(session, object, profile, check));
            if (object.object_class == CKO_SECRET_KEY)
              KW_TRY(check_kek_against_blob(hierarchy, session, object, objects, profile, check));
            break;
          case ParsedLabel::Kind::kek_blob:
            check.kind = "kek-blob";
            if (object.object_class != CKO_DATA)
              check.deviations.push_back({"CKA_CLASS", "CKO_DATA", std::to_string(object.object_class), "blobs are data objects"});
            break;
          case ParsedLabel::Kind::destroyed_kek:
            check.kind = "destroyed-kek";
            if (object.object_class != CKO_DATA)
              check.deviations.push_back({"CKA_CLASS", "CKO_DATA", std::to_string(object.object_class),
                                          "a destroyed-KEK record is a data object"});
            break;
          case ParsedLabel::Kind::transcript_key:
            check.kind = object.object_class == CKO_PRIVATE_KEY ? "transcript-signer" : "transcript-signer (public)";
            KW_TRY(check_transcript_key(session, object, profile, check));
            break;
          case ParsedLabel::Kind::audit_signer:  // the same explicit template as the transcript's signer
            check.kind = object.object_class == CKO_PRIVATE_KEY ? "audit-signer" : "audit-signer (public)";
            KW_TRY(check_transcript_key(session, object, profile, check));
            break;
          case ParsedLabel::Kind::audit_head:
            check.kind = "audit-head";
            if (object.object_class != CKO_DATA)
              check.deviations.push_back({"CKA_CLASS", "CKO_DATA", std::to_string(object.object_class), "the audit head is a data object"});
            break;
        }
      }
      report.objects.push_back(std::move(check));
    }
    // Beyond keyward's labels: copies of roots and KEKs, survivors of destroyed KEKs, foreign wrapping keys.
    KW_TRY(check_key_copies(hierarchy, session, objects, profile, report.objects));
    return {};
  });
  KW_TRY(checked);
  std::uint64_t deviating = 0;
  for (const auto& object : report.objects) deviating += object.ok() ? 0u : 1u;
  KW_TRY(audit::record({"policy.verify", report.ok() ? "ok" : "refused", "", "",
                        {{"objects", report.objects.size()}, {"deviating", deviating}, {"module_limits", report.module_limits.size()}}}));
  return report;
}

}  // namespace keyward::hierarchy
