#include "hierarchy/destroyed_kek.h"

#include <nlohmann/json.hpp>

#include "base/json_fields.h"
#include "hierarchy/labels.h"
#include "hierarchy/token_objects.h"

namespace keyward::hierarchy {

std::string DestroyedKek::to_json() const {
  nlohmann::ordered_json j;
  j["format"] = "keyward-destroyed-kek/v1";
  j["kek"] = kek_family;
  j["version"] = kek_version;
  j["kw_fingerprint"] = kw_fingerprint;
  j["destroyed_at"] = destroyed_at;
  return j.dump() + "\n";
}

Result<DestroyedKek> DestroyedKek::from_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || string_field(j, "format") != "keyward-destroyed-kek/v1")
    return make_error(ErrorCategory::corrupt_input, "not a keyward destroyed-KEK record (format keyward-destroyed-kek/v1)");
  DestroyedKek record;
  record.kek_family = string_field(j, "kek");
  record.kw_fingerprint = string_field(j, "kw_fingerprint");
  const auto version = unsigned_field(j, "version");
  const auto at = unsigned_field(j, "destroyed_at");
  if (!version || *version == 0 || *version > UINT32_MAX || !at || record.kw_fingerprint.size() != 16 ||
      !validate_kek_family(record.kek_family))
    return make_error(ErrorCategory::corrupt_input, "destroyed-KEK record lacks a field or has an invalid one");
  record.kek_version = static_cast<std::uint32_t>(*version);
  record.destroyed_at = static_cast<std::int64_t>(*at);
  return record;
}

Status record_destroyed_kek(p11::Session& session, const DestroyedKek& record) {
  const std::string label = destroyed_kek_label(record.kek_family, record.kek_version);
  p11::AttributeTemplate match;
  match.set_ulong(CKA_CLASS, CKO_DATA).set_string(CKA_LABEL, label);
  KW_ASSIGN_OR_RETURN(auto existing, session.find_objects(match, 1));
  if (!existing.empty()) return {};
  p11::AttributeTemplate t;
  t.set_ulong(CKA_CLASS, CKO_DATA)
      .set_bool(CKA_TOKEN, true)
      .set_bool(CKA_PRIVATE, true)
      .set_string(CKA_LABEL, label)
      .set_string(CKA_APPLICATION, "keyward")
      .set_string(CKA_VALUE, record.to_json())
      .set_bool(CKA_MODIFIABLE, false);
  KW_ASSIGN_OR_RETURN(auto object, session.create_object(t));
  (void)object;
  return {};
}

Result<std::vector<DestroyedKek>> destroyed_keks(p11::Session& session) {
  KW_ASSIGN_OR_RETURN(auto objects, list_keyward_objects(session));
  std::vector<DestroyedKek> records;
  for (const auto& object : objects) {
    if (!object.parsed || object.parsed->kind != ParsedLabel::Kind::destroyed_kek || object.object_class != CKO_DATA) continue;
    KW_ASSIGN_OR_RETURN(auto value, session.get_attribute(object.handle, CKA_VALUE));
    auto record = DestroyedKek::from_json(value.as_string());
    if (!record) return std::unexpected(record.error().with_context(object.label));
    if (record->kek_family != object.parsed->kek_family || record->kek_version != object.parsed->version)
      return make_error(ErrorCategory::corrupt_input, object.label + " holds the record of " +
                                                          kek_label(record->kek_family, record->kek_version));
    records.push_back(std::move(*record));
  }
  return records;
}

}  // namespace keyward::hierarchy
