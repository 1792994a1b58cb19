#include "hierarchy/key_service.h"

#include "hierarchy/envelope_keys.h"

namespace keyward::hierarchy {

KeyService::KeyService(KeyHierarchy& hierarchy, Catalog& catalog, DekCache& cache)
    : hierarchy_(hierarchy), catalog_(catalog), cache_(cache) {}

Result<ScopeKey> KeyService::load(const DekRecord& record) {
  const DekCacheKey cache_key{record.kek_family, record.kek_version, record.dek_id};
  KW_ASSIGN_OR_RETURN(auto dek, cache_.get(cache_key, 0, [&]() {
    return hierarchy_.unwrap_dek_for_cpu(KekRef{record.kek_family, record.kek_version}, record.wrapped);
  }));
  KW_ASSIGN_OR_RETURN(auto field_key, envelope::FieldKey::derive(*dek, record.dek_id));
  ScopeKey key{record, std::make_shared<const envelope::FieldKey>(std::move(field_key)), false};
  KW_ASSIGN_OR_RETURN(std::uint32_t newest, hierarchy_.latest_kek_version(record.kek_family));
  key.under_older_kek_version = record.kek_version < newest;
  return key;
}

Result<ScopeKey> KeyService::key_for_encryption(const std::string& scope, const std::string& kek_family) {
  KW_ASSIGN_OR_RETURN(bool shredded, catalog_.is_shredded(scope));
  if (shredded) return make_error(ErrorCategory::shredded, "scope '" + scope + "' was crypto-shredded");
  KW_ASSIGN_OR_RETURN(auto existing, catalog_.active_dek(scope));
  if (existing) return load(*existing);
  KW_ASSIGN_OR_RETURN(auto fresh, new_data_key(hierarchy_, kek_family));
  DekRecord record{fresh.id, scope, fresh.section.kek_family, fresh.section.kek_version, fresh.section.wrapped_dek,
                   DekState::active, 0, 0};
  KW_TRY(catalog_.create_dek(record));
  // Seed the cache with the plaintext we already hold instead of unwrapping it again.
  const DekCacheKey cache_key{record.kek_family, record.kek_version, record.dek_id};
  KW_ASSIGN_OR_RETURN(auto dek, cache_.get(cache_key, 0, [&]() -> Result<SecretBytes> { return std::move(fresh.dek); }));
  KW_ASSIGN_OR_RETURN(auto field_key, envelope::FieldKey::derive(*dek, record.dek_id));
  return ScopeKey{record, std::make_shared<const envelope::FieldKey>(std::move(field_key)), false};
}

Result<ScopeKey> KeyService::key_for_decryption(const envelope::DekId& dek_id) {
  KW_ASSIGN_OR_RETURN(auto record, catalog_.find_dek(dek_id));
  if (!record) {
    KW_ASSIGN_OR_RETURN(bool shredded, catalog_.is_dek_shredded(dek_id));
    if (shredded)
      return make_error(ErrorCategory::shredded, "DEK " + envelope::dek_id_hex(dek_id) +
                                                     " was crypto-shredded with its scope: the value can never be decrypted");
    return make_error(ErrorCategory::not_found, "DEK " + envelope::dek_id_hex(dek_id) + " is not in the catalog (wrong catalog?)");
  }
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
