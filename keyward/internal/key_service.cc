#include "keyward/internal/key_service.h"

#include "hierarchy/envelope_keys.h"

namespace keyward::hierarchy {

KeyService::KeyService(KeyHierarchy& hierarchy, Catalog& catalog, DekCache& cache)
    : hierarchy_(hierarchy), catalog_(catalog), cache_(cache) {}

Result<bool> KeyService::under_older_version(const DekRecord& record) {
  // From the catalog, not the token: a token listing per value was the cost and the failure
  // (CKR_OBJECT_HANDLE_INVALID while a KEK version was being created) of every read.
  KW_ASSIGN_OR_RETURN(auto versions, catalog_.kek_versions(record.kek_family));
  for (const auto& version : versions) {
    if (version.version > record.kek_version) return true;
    if (version.version == record.kek_version && version.state != KekState::active) return true;
  }
  if (!versions.empty()) return false;
  // No rotation recorded for the family: ask the token once and keep its answer.
  std::lock_guard lock(token_versions_mutex_);
  auto known = token_latest_versions_.find(record.kek_family);
  if (known == token_latest_versions_.end()) {
    auto newest = hierarchy_.latest_kek_version(record.kek_family);
    if (!newest) return false;  // the note is advice: a read never fails for it (asked again next time)
    known = token_latest_versions_.emplace(record.kek_family, *newest).first;
  }
  return record.kek_version < known->second;
}

Result<ScopeKey> KeyService::with_field_key(const DekRecord& record, const SecretBytes& dek, bool under_older) {
  KW_ASSIGN_OR_RETURN(auto field_key, envelope::FieldKey::derive(dek, record.dek_id, record.scope));
  return ScopeKey{record, std::make_shared<const envelope::FieldKey>(std::move(field_key)), under_older};
}

Result<ScopeKey> KeyService::load(const DekRecord& record) {
  const DekCacheKey cache_key{record.kek_family, record.kek_version, record.dek_id};
  KW_ASSIGN_OR_RETURN(auto dek, cache_.get(cache_key, 0, [&]() {
    return hierarchy_.unwrap_dek_for_cpu(KekRef{record.kek_family, record.kek_version}, record.wrapped);
  }));
  KW_ASSIGN_OR_RETURN(bool older, under_older_version(record));
  return with_field_key(record, *dek, older);
}

Result<ScopeKey> KeyService::key_for_encryption(const std::string& scope, const std::string& kek_family) {
  for (int attempt = 0; attempt < kStaleVersionAttempts; ++attempt) {
    KW_ASSIGN_OR_RETURN(bool shredded, catalog_.is_shredded(scope));
    if (shredded) return make_error(ErrorCategory::shredded, "scope '" + scope + "' was crypto-shredded");
    KW_ASSIGN_OR_RETURN(auto existing, catalog_.active_dek(scope));
    if (existing) return load(*existing);
    if (!catalog_.writable())
      return make_error(ErrorCategory::io, "scope '" + scope + "' has no DEK yet and the catalog is read-only to this process: "
                                                                "run the first encrypt of a scope with write access to the catalog");
    KW_ASSIGN_OR_RETURN(auto fresh, new_data_key(hierarchy_, kek_family));
    DekRecord record{fresh.id, scope, fresh.section.kek_family, fresh.section.kek_version, fresh.section.wrapped_dek,
                     DekState::active, 0, 0};
    if (before_record_) before_record_();
    KW_ASSIGN_OR_RETURN(auto decided, catalog_.create_first_dek(record));
    switch (decided.outcome) {
      case FirstDek::Outcome::existing:
        // Another writer recorded the scope's DEK first: use it. Ours was never recorded and is
        // wiped when `fresh` goes (a DEK is no token object, so nothing else to destroy).
        return load(*decided.active);
      case FirstDek::Outcome::stale_kek_version:
        continue;  // a rotation moved on between generate and record: generate under the newest
      case FirstDek::Outcome::inserted: {
        // Seed the cache with the plaintext we already hold instead of unwrapping it again.
        const DekCacheKey cache_key{record.kek_family, record.kek_version, record.dek_id};
        KW_ASSIGN_OR_RETURN(auto dek, cache_.get(cache_key, 0, [&]() -> Result<SecretBytes> { return std::move(fresh.dek); }));
        return with_field_key(*decided.active, *dek, false);
      }
    }
  }
  return make_error(ErrorCategory::policy, "KEK family '" + kek_family + "' changed version " +
                                               std::to_string(kStaleVersionAttempts) +
                                               " times while scope '" + scope + "' got its first DEK (a rotation in progress?): "
                                               "retry when the rotation's start or retire is done");
}

Result<ScopeKey> KeyService::key_for_decryption(const envelope::DekId& dek_id, const std::optional<std::string>& expected_scope) {
  KW_ASSIGN_OR_RETURN(auto record, catalog_.find_dek(dek_id));
  if (!record) {
    KW_ASSIGN_OR_RETURN(bool shredded, catalog_.is_dek_shredded(dek_id));
    if (shredded)
      return make_error(ErrorCategory::shredded, "DEK " + envelope::dek_id_hex(dek_id) +
                                                     " was crypto-shredded with its scope: the value can never be decrypted");
    return make_error(ErrorCategory::not_found, "DEK " + envelope::dek_id_hex(dek_id) + " is not in the catalog (wrong catalog?)");
  }
  // Names neither scope: the other one may be another tenant's name.
  if (expected_scope && record->scope != *expected_scope)
    return make_error(ErrorCategory::policy, "the value belongs to a different scope than the one expected: refusing to decrypt it "
                                             "(a value copied from another scope's row?)");
  return load(*record);
}

Result<std::vector<ScopeKey>> KeyService::keys_of_scope(const std::string& scope) {
  KW_ASSIGN_OR_RETURN(bool shredded, catalog_.is_shredded(scope));
  if (shredded) return make_error(ErrorCategory::shredded, "scope '" + scope + "' was crypto-shredded");
  KW_ASSIGN_OR_RETURN(auto records, catalog_.deks_for_scope(scope));
  std::vector<ScopeKey> keys;
  for (const auto& record : records) {
    KW_ASSIGN_OR_RETURN(auto key, load(record));
    keys.push_back(std::move(key));
  }
  return keys;
}

Status KeyService::rewrap_catalog_entry(const envelope::DekId& dek_id) {
  KW_ASSIGN_OR_RETURN(auto record, catalog_.find_dek(dek_id));
  if (!record) return make_error(ErrorCategory::not_found, "DEK " + envelope::dek_id_hex(dek_id) + " is not in the catalog");
  KW_ASSIGN_OR_RETURN(std::uint32_t newest, hierarchy_.latest_kek_version(record->kek_family));
  if (record->kek_version >= newest) return {};
  KW_ASSIGN_OR_RETURN(auto wrapped, hierarchy_.rewrap_dek_in_token(KekRef{record->kek_family, record->kek_version},
                                                                   KekRef{record->kek_family, newest}, record->wrapped));
  KW_ASSIGN_OR_RETURN(auto applied, catalog_.apply_rewraps({Rewrap{dek_id, record->kek_version, newest, std::move(wrapped)}}));
  (void)applied;
  return {};
}

}  // namespace keyward::hierarchy
