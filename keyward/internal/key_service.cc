#include "keyward/internal/key_service.h"

#include "audit/recorder.h"
#include "hierarchy/envelope_keys.h"

namespace keyward::hierarchy {
namespace {

// The same DEK under the same wrapping and scope: what a cached key was built from is still what
// the catalog says.
bool same_row(const DekRecord& a, const DekRecord& b) {
  return a.dek_id == b.dek_id && a.kek_version == b.kek_version && a.state == b.state && a.scope == b.scope &&
         a.kek_family == b.kek_family && a.wrapped == b.wrapped;
}

Error other_scope() {
  // Names neither scope: the other one may be another tenant's name.
  return Error{ErrorCategory::policy,
               "the value belongs to a different scope than the one expected: refusing to decrypt it "
               "(a value copied from another scope's row?)",
               std::nullopt};
}

ScopeKeyCache::Limits key_limits(const DekCache& cache, const KeyServiceOptions& options) {
  return ScopeKeyCache::Limits{cache.limits(), options.revalidate_after};
}

}  // namespace

KeyService::KeyService(KeyHierarchy& hierarchy, Catalog& catalog, DekCache& cache, KeyServiceOptions options)
    : hierarchy_(hierarchy), catalog_(catalog), cache_(cache), keys_(key_limits(cache, options)) {}

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

Result<ScopeKeyRef> KeyService::with_field_key(const DekRecord& record, const SecretBytes& dek, bool under_older) {
  // Once per DEK load, never per value: three HKDFs and four keyed cipher contexts.
  KW_ASSIGN_OR_RETURN(auto field_key, envelope::FieldKey::derive(dek, record.dek_id, record.scope));
  return std::make_shared<const ScopeKey>(
      ScopeKey{record, std::make_shared<const envelope::FieldKey>(std::move(field_key)), under_older,
               audit::usage_counter(envelope::dek_id_hex(record.dek_id), record.scope)});
}

Result<ScopeKeyRef> KeyService::load(const DekRecord& record, std::uint64_t bytes) {
  const DekCacheKey cache_key{record.kek_family, record.kek_version, record.dek_id};
  KW_ASSIGN_OR_RETURN(auto dek, cache_.get(cache_key, bytes, [&]() {
    return hierarchy_.unwrap_dek_for_cpu(KekRef{record.kek_family, record.kek_version}, record.wrapped);
  }));
  KW_ASSIGN_OR_RETURN(bool older, under_older_version(record));
  return with_field_key(record, *dek, older);
}

void KeyService::evict_dek(const ScopeKey& used_up) {
  const DekRecord& record = used_up.record;
  cache_.evict(DekCacheKey{record.kek_family, record.kek_version, record.dek_id});
}

Result<ScopeKeyRef> KeyService::revalidated(const ScopeKeyRef& cached, const DekRecord& record, bool active,
                                            DekCache::TimePoint read_at) {
  // Same DEK, same row: keep the derived keys; only the note may have changed (a rotation started).
  KW_ASSIGN_OR_RETURN(bool older, under_older_version(record));
  ScopeKeyRef key = older == cached->under_older_kek_version
                        ? cached
                        : std::make_shared<const ScopeKey>(ScopeKey{record, cached->field_key, older, cached->usage});
  keys_.refresh(key, active, read_at);
  return key;
}

Result<ScopeKeyRef> KeyService::shared_key_for_encryption(std::string_view scope, std::string_view kek_family,
                                                          std::uint64_t bytes) {
  const std::uint64_t seen = generation();
  auto found = keys_.find_scope(scope, bytes, cache_.now(), seen);
  if (found.key && !found.due) {
    found.key->count_encryption(bytes);
    return std::move(found.key);
  }
  if (found.exhausted) evict_dek(*found.exhausted);
  auto key = encryption_key_from_catalog(std::string(scope), kek_family, bytes, found.key);
  if (!key) return fail(audit::record_if_refused("field.encrypt", "", scope, std::move(key).error()));
  (*key)->count_encryption(bytes);
  return key;
}

Result<ScopeKeyRef> KeyService::encryption_key_from_catalog(const std::string& scope, std::string_view kek_family,
                                                            std::uint64_t bytes, const ScopeKeyRef& cached) {
  std::lock_guard catalog_lock(catalog_mutex_);
  for (int attempt = 0; attempt < kStaleVersionAttempts; ++attempt) {
    // Read before the catalog: what is cached is never newer than what was read.
    const std::uint64_t seen = generation();
    const auto read_at = cache_.now();
    KW_ASSIGN_OR_RETURN(bool shredded, catalog_.is_shredded(scope));
    if (shredded) {
      if (cached) keys_.forget_dek(cached->record.dek_id);
      return make_error(ErrorCategory::shredded, "scope '" + scope + "' was crypto-shredded");
    }
    KW_ASSIGN_OR_RETURN(auto existing, catalog_.active_dek(scope));
    if (existing) {
      if (cached && same_row(cached->record, *existing)) return revalidated(cached, *existing, true, read_at);
      KW_ASSIGN_OR_RETURN(auto key, load(*existing, bytes));
      keys_.put(key, true, read_at, seen, true);
      return key;
    }
    if (!catalog_.writable())
      return make_error(ErrorCategory::io, "scope '" + scope + "' has no DEK yet and the catalog is read-only to this process: "
                                                                "run the first encrypt of a scope with write access to the catalog");
    KW_ASSIGN_OR_RETURN(auto fresh, new_data_key(hierarchy_, kek_family));
    DekRecord record{fresh.id, scope, fresh.section.kek_family, fresh.section.kek_version, fresh.section.wrapped_dek,
                     DekState::active, 0, 0};
    if (before_record_) before_record_();
    KW_ASSIGN_OR_RETURN(auto decided, catalog_.create_first_dek(record));
    switch (decided.outcome) {
      case FirstDek::Outcome::existing: {
        // Another writer recorded the scope's DEK first: use it. Ours was never recorded and is
        // wiped when `fresh` goes (a DEK is no token object, so nothing else to destroy).
        KW_ASSIGN_OR_RETURN(auto key, load(*decided.active, bytes));
        keys_.put(key, true, read_at, seen, true);
        return key;
      }
      case FirstDek::Outcome::stale_kek_version:
        continue;  // a rotation moved on between generate and record: generate under the newest
      case FirstDek::Outcome::inserted: {
        // Seed the cache with the plaintext we already hold instead of unwrapping it again.
        const DekCacheKey cache_key{record.kek_family, record.kek_version, record.dek_id};
        KW_ASSIGN_OR_RETURN(auto dek, cache_.get(cache_key, bytes, [&]() -> Result<SecretBytes> { return std::move(fresh.dek); }));
        KW_ASSIGN_OR_RETURN(auto key, with_field_key(*decided.active, *dek, false));
        // Not verified: the "older KEK version" note was not asked for; the next use reads it.
        keys_.put(key, true, read_at, seen, false);
        return key;
      }
    }
  }
  return make_error(ErrorCategory::policy, "KEK family '" + std::string(kek_family) + "' changed version " +
                                               std::to_string(kStaleVersionAttempts) +
                                               " times while scope '" + scope + "' got its first DEK (a rotation in progress?): "
                                               "retry when the rotation's start or retire is done");
}

Result<ScopeKeyRef> KeyService::shared_key_for_decryption(const envelope::DekId& dek_id,
                                                          std::optional<std::string_view> expected_scope,
                                                          std::uint64_t bytes) {
  const std::uint64_t seen = generation();
  auto found = keys_.find_dek(dek_id, bytes, cache_.now(), seen);
  if (found.exhausted) evict_dek(*found.exhausted);
  ScopeKeyRef key;
  if (found.key && !found.due) {
    key = std::move(found.key);
  } else {
    auto loaded = decryption_key_from_catalog(dek_id, bytes, found.key);
    if (!loaded) return fail(audit::record_if_refused("field.decrypt", envelope::dek_id_hex(dek_id), expected_scope.value_or(""),
                                                      std::move(loaded).error()));
    key = std::move(*loaded);
  }
  if (expected_scope && key->record.scope != *expected_scope)
    return fail(audit::record_refusal("field.decrypt", envelope::dek_id_hex(dek_id), std::string(*expected_scope), other_scope()));
  key->count_decryption(bytes);
  return key;
}

Result<ScopeKeyRef> KeyService::decryption_key_from_catalog(const envelope::DekId& dek_id, std::uint64_t bytes,
                                                            const ScopeKeyRef& cached) {
  std::lock_guard catalog_lock(catalog_mutex_);
  const std::uint64_t seen = generation();
  const auto read_at = cache_.now();
  KW_ASSIGN_OR_RETURN(auto record, catalog_.find_dek(dek_id));
  if (!record) {
    keys_.forget_dek(dek_id);
    KW_ASSIGN_OR_RETURN(bool shredded, catalog_.is_dek_shredded(dek_id));
    if (shredded)
      return make_error(ErrorCategory::shredded, "DEK " + envelope::dek_id_hex(dek_id) +
                                                     " was crypto-shredded with its scope: the value can never be decrypted");
    return make_error(ErrorCategory::not_found, "DEK " + envelope::dek_id_hex(dek_id) + " is not in the catalog (wrong catalog?)");
  }
  if (cached && same_row(cached->record, *record)) return revalidated(cached, *record, false, read_at);
  KW_ASSIGN_OR_RETURN(auto key, load(*record, bytes));
  keys_.put(key, false, read_at, seen, true);
  return key;
}

Result<ScopeKey> KeyService::key_for_encryption(const std::string& scope, const std::string& kek_family) {
  KW_ASSIGN_OR_RETURN(auto key, shared_key_for_encryption(scope, kek_family));
  return *key;
}

Result<ScopeKey> KeyService::key_for_decryption(const envelope::DekId& dek_id, const std::optional<std::string>& expected_scope) {
  KW_ASSIGN_OR_RETURN(auto key, shared_key_for_decryption(dek_id, expected_scope ? std::optional<std::string_view>(*expected_scope)
                                                                                  : std::nullopt));
  return *key;
}

Result<std::string> KeyService::encrypt_field(std::string_view scope, std::string_view kek_family,
                                              std::span<const std::uint8_t> value, envelope::FieldSuite suite,
                                              const envelope::EncodedContext& context) {
  KW_ASSIGN_OR_RETURN(auto key, shared_key_for_encryption(scope, kek_family, value.size()));
  return key->field_key->encrypt(value, suite, context);
}

Result<SecretBytes> KeyService::decrypt_field(std::string_view text, std::optional<std::string_view> expected_scope,
                                              const envelope::EncodedContext& context) {
  KW_ASSIGN_OR_RETURN(auto parsed, envelope::parse_field(text));
  KW_ASSIGN_OR_RETURN(auto key, shared_key_for_decryption(parsed.dek_id, expected_scope, parsed.body.size()));
  auto plain = key->field_key->decrypt(parsed, context);
  if (!plain) return fail(audit::record_if_refused("field.decrypt", envelope::dek_id_hex(parsed.dek_id), key->record.scope, std::move(plain).error()));
  return plain;
}

void KeyService::forget_cached_keys() {
  forgets_.fetch_add(1, std::memory_order_acq_rel);
  keys_.clear();
}

Result<std::vector<ScopeKey>> KeyService::keys_of_scope(const std::string& scope) {
  std::lock_guard catalog_lock(catalog_mutex_);
  KW_ASSIGN_OR_RETURN(bool shredded, catalog_.is_shredded(scope));
  if (shredded) return make_error(ErrorCategory::shredded, "scope '" + scope + "' was crypto-shredded");
  KW_ASSIGN_OR_RETURN(auto records, catalog_.deks_for_scope(scope));
  std::vector<ScopeKey> keys;
  for (const auto& record : records) {
    KW_ASSIGN_OR_RETURN(auto key, load(record, 0));
    keys.push_back(*key);
  }
  return keys;
}

Status KeyService::rewrap_catalog_entry(const envelope::DekId& dek_id) {
  std::lock_guard catalog_lock(catalog_mutex_);
  KW_ASSIGN_OR_RETURN(auto record, catalog_.find_dek(dek_id));
  if (!record) return make_error(ErrorCategory::not_found, "DEK " + envelope::dek_id_hex(dek_id) + " is not in the catalog");
  KW_ASSIGN_OR_RETURN(std::uint32_t newest, hierarchy_.latest_kek_version(record->kek_family));
  if (record->kek_version >= newest) return {};
  KW_ASSIGN_OR_RETURN(auto wrapped, hierarchy_.rewrap_dek_in_token(KekRef{record->kek_family, record->kek_version},
                                                                   KekRef{record->kek_family, newest}, record->wrapped));
  KW_ASSIGN_OR_RETURN(auto applied, catalog_.apply_rewraps({Rewrap{dek_id, record->kek_version, newest, std::move(wrapped)}}));
  (void)applied;
  // The DEK is unchanged, its row is not: the next use reads the row (and drops the note).
  keys_.forget_dek(dek_id);
  return {};
}

}  // namespace keyward::hierarchy
