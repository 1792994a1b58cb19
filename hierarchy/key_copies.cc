#include "hierarchy/key_copies.h"

#include <map>
#include <optional>

#include "hierarchy/destroyed_kek.h"
#include "hierarchy/labels.h"

namespace keyward::hierarchy {
namespace {

struct SecretKey {
  p11::ObjectHandle handle = 0;
  std::string label;
  bool can_wrap = false, can_unwrap = false;
  std::optional<std::string> fingerprint;  // only where the key can wrap (the KW fingerprint is a wrap)
  bool keyward_key = false;                // labelled as a keyward root or KEK
};

Result<std::vector<SecretKey>> token_secret_keys(KeyHierarchy& hierarchy, p11::Session& session) {
  p11::AttributeTemplate match;
  match.set_bool(CKA_TOKEN, true).set_ulong(CKA_CLASS, CKO_SECRET_KEY);
  KW_ASSIGN_OR_RETURN(auto handles, session.find_objects(match));
  std::vector<SecretKey> keys;
  for (p11::ObjectHandle handle : handles) {
    static constexpr CK_ATTRIBUTE_TYPE kTypes[] = {CKA_LABEL, CKA_WRAP, CKA_UNWRAP};
    KW_ASSIGN_OR_RETURN(auto values, session.get_attributes(handle, kTypes));
    SecretKey key{handle, values[0].available ? values[0].as_string() : "", values[1].as_bool(), values[2].as_bool(), {}, false};
    if (auto parsed = parse_label(key.label))
      key.keyward_key = parsed->kind == ParsedLabel::Kind::root || parsed->kind == ParsedLabel::Kind::kek;
    if (key.can_wrap) {
      // A key restricted to other mechanisms (CKA_ALLOWED_MECHANISMS) has no KW fingerprint.
      if (auto kcv = hierarchy.key_check_value(session, handle); kcv) key.fingerprint = kcv->kw_fingerprint;
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

std::string describe(const SecretKey& key) {
  return key.label.empty() ? "(unlabelled secret key, handle " + std::to_string(key.handle) + ")" : key.label;
}

ObjectCheck& check_for(const SecretKey& key, const std::vector<TokenObject>& objects, std::vector<ObjectCheck>& checks,
                       std::map<p11::ObjectHandle, std::size_t>& added) {
  for (std::size_t i = 0; i < objects.size() && i < checks.size(); ++i)
    if (objects[i].handle == key.handle) return checks[i];
  if (auto it = added.find(key.handle); it != added.end()) return checks[it->second];
  added[key.handle] = checks.size();
  checks.push_back(ObjectCheck{describe(key), "foreign-key", {}});
  return checks.back();
}

}  // namespace

Status check_key_copies(KeyHierarchy& hierarchy, p11::Session& session, const std::vector<TokenObject>& objects,
                        const ModuleProfile& profile, std::vector<ObjectCheck>& checks) {
  KW_ASSIGN_OR_RETURN(auto keys, token_secret_keys(hierarchy, session));
  std::map<std::string, std::string> keyward_by_fingerprint;  // fingerprint → the first keyward label holding it
  for (const auto& key : keys)
    if (key.keyward_key && key.fingerprint) keyward_by_fingerprint.try_emplace(*key.fingerprint, key.label);
  std::map<p11::ObjectHandle, std::size_t> added;
  for (const auto& key : keys) {
    if (!key.fingerprint) {
      if (!key.keyward_key && (key.can_wrap || key.can_unwrap))
        check_for(key, objects, checks, added)
            .deviations.push_back({"CKA_WRAP/CKA_UNWRAP", "false on a key that is not keyward's", "true",
                                   "a wrapping key outside keyward's policy can receive or unwrap copies of keyward's keys"});
      continue;
    }
    auto original = keyward_by_fingerprint.find(*key.fingerprint);
    if (original != keyward_by_fingerprint.end() && original->second != key.label) {
      auto& check = check_for(key, objects, checks, added);
      if (!key.keyward_key) check.kind = "copy";
      check.deviations.push_back({"KW fingerprint", "unique to " + original->second, *key.fingerprint,
                                  "a copy of " + original->second +
                                      " outside its label: it survives retire and unwraps whatever the original unwraps"});
    } else if (original == keyward_by_fingerprint.end() && (key.can_wrap || key.can_unwrap)) {
      check_for(key, objects, checks, added)
          .deviations.push_back({"CKA_WRAP/CKA_UNWRAP", "false on a key that is not keyward's", "true",
                                 "a wrapping key outside keyward's policy can receive or unwrap copies of keyward's keys"});
    }
  }
  // Destroyed KEKs: no key with their fingerprint may remain, under any label.
  if (!profile.data_objects) return {};
  KW_ASSIGN_OR_RETURN(auto destroyed, destroyed_keks(session));
  for (const auto& record : destroyed) {
    const std::string record_label = destroyed_kek_label(record.kek_family, record.kek_version);
    ObjectCheck* record_check = nullptr;
    for (std::size_t i = 0; i < objects.size() && i < checks.size(); ++i)
      if (objects[i].label == record_label) record_check = &checks[i];
    if (record_check == nullptr) continue;  // listed by the caller: cannot happen
    for (const auto& key : keys) {
      if (key.fingerprint == record.kw_fingerprint)
        record_check->deviations.push_back({"surviving copy", "no key with KW fingerprint " + record.kw_fingerprint,
                                            describe(key),
                                            "the destroyed " + kek_label(record.kek_family, record.kek_version) +
                                                " still exists under this label: destroy it, and rotate the root if its blob may have been copied"});
    }
  }
  return {};
}

}  // namespace keyward::hierarchy
