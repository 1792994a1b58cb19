// KeyService: what an application calls for field encryption — per-scope DEKs from the catalog,
// generated in the token on first use, unwrapped through the DEK cache.
//
// This is the layer above "who can unwrap" (KeyHierarchy): it chooses the KEK version, keeps the
// catalog and the cache, and tells the caller when an entry is under an older KEK version.
//
// Reads touch only what the value's DEK record names: the catalog row, the DEK cache, and on a
// miss one unwrap under the KEK version the row records. The "older KEK version" note comes from
// the catalog's kek_versions; only for a family the catalog records no versions of is the token
// asked, once per KeyService (a token listing), and the answer kept. So a KEK version being
// created or destroyed elsewhere cannot fail a read, and reads cost no token scan.
//
// In memory: ready keys (subkeys derived, cipher contexts keyed) by DEK ID and the active DEK of each
// scope (ScopeKeyCache), so a field value costs a hash lookup; the catalog is read on a miss and,
// for a key in use, once per `revalidate_after`. The keys obey the DEK cache's limits (TTL, idle,
// capacity, uses, bytes).
//
// Staleness. Within this process, a shred committed through any Catalog object (key_removals()), an
// invalidation of the DEK cache, rewrap_catalog_entry() and forget_cached_keys() take effect at once:
// the next call reads the catalog. A change committed by another process (a shred, a rewrap, a new
// active DEK) is seen within `revalidate_after` (default 1 s) of this service's last read of the
// row: a value of a scope shredded elsewhere may still decrypt here for up to that long. A value of
// another scope is refused with `expected_scope` on every call, cached or not.
//
// Thread-safe. The catalog calls this service makes are serialized (one at a time), so one
// SqliteCatalog (one connection) may serve a KeyService used from many threads, as long as nothing
// else uses that catalog object at the same time.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "envelope/field.h"
#include "catalog/catalog.h"
#include "catalog/dek_cache.h"
#include "hierarchy/key_hierarchy.h"
#include "keyward/internal/scope_key.h"
#include "catalog/key_removals.h"
#include "keyward/internal/scope_key_cache.h"

namespace keyward::hierarchy {

struct KeyServiceOptions {
  // How long a key in use is served from memory before its catalog row is read again: the longest
  // a change committed by another process goes unnoticed here (see "Staleness" above).
  std::chrono::milliseconds revalidate_after{1000};
};

class KeyService {
 public:
  // How often key_for_encryption regenerates a new scope's DEK when a rotation made the KEK
  // version it was wrapped under stale between generating and recording it.
  static constexpr int kStaleVersionAttempts = 4;

  // `cache` supplies the DEKs, the limits and the clock; it must outlive the service.
  KeyService(KeyHierarchy& hierarchy, Catalog& catalog, DekCache& cache, KeyServiceOptions options = {});

  // The scope's active DEK; a new one (generated in the token under `kek_family`'s newest version
  // and recorded in the catalog) if the scope has none. Racing first encrypts of one scope agree:
  // the catalog records one DEK (create_first_dek) and every caller gets it; a loser's DEK was
  // never recorded or used. A DEK whose KEK version went stale before it was recorded (a rotation
  // straddling the write) is dropped and a new one generated under the newest version, at most
  // kStaleVersionAttempts times. Errors: shredded for a shredded scope; policy when the version
  // kept changing; io for a read-only catalog that would need a new DEK.
  Result<ScopeKey> key_for_encryption(const std::string& scope, const std::string& kek_family);
  // The DEK named by a value's DEK ID, under whichever KEK version the catalog records. With
  // `expected_scope`, a DEK of any other scope is refused (policy; the message names neither scope):
  // a value copied from another tenant's row does not decrypt as this tenant's.
  Result<ScopeKey> key_for_decryption(const envelope::DekId& dek_id,
                                      const std::optional<std::string>& expected_scope = std::nullopt);
  // The same without copying the record: the hot path. `bytes` (what the caller will encrypt or
  // decrypt with the key) counts against the DEK's byte limit.
  Result<ScopeKeyRef> shared_key_for_encryption(std::string_view scope, std::string_view kek_family, std::uint64_t bytes = 0);
  Result<ScopeKeyRef> shared_key_for_decryption(const envelope::DekId& dek_id,
                                                std::optional<std::string_view> expected_scope = std::nullopt,
                                                std::uint64_t bytes = 0);

  // One field value under the scope's active DEK (a new DEK as key_for_encryption makes one).
  // Errors: those of shared_key_for_encryption and FieldKey::encrypt.
  Result<std::string> encrypt_field(std::string_view scope, std::string_view kek_family, std::span<const std::uint8_t> value,
                                    envelope::FieldSuite suite, const envelope::EncodedContext& context);
  // One field value text back to its plaintext, under the DEK it names; with `expected_scope`, a
  // value of any other scope is refused (policy). Errors: those of parse_field,
  // shared_key_for_decryption and FieldKey::decrypt.
  Result<SecretBytes> decrypt_field(std::string_view text, std::optional<std::string_view> expected_scope,
                                    const envelope::EncodedContext& context);

  // Drops every key this service holds in memory: the next call of each kind reads the catalog.
  // For a process that learns by other means (a message, an admin call) that a scope was shredded
  // or a DEK changed elsewhere, and does not want to wait for revalidate_after.
  void forget_cached_keys();

  // Every DEK of the scope (for lookups across key versions).
  Result<std::vector<ScopeKey>> keys_of_scope(const std::string& scope);

  // Rewraps one catalog entry under the newest KEK version of its family, inside the token.
  Status rewrap_catalog_entry(const envelope::DekId& dek_id);

  // Test seam: runs between generating a new scope DEK in the token and recording it.
  void set_before_record_for_test(std::function<void()> hook) { before_record_ = std::move(hook); }

 private:
  Result<ScopeKeyRef> load(const DekRecord& record, std::uint64_t bytes);
  Result<bool> under_older_version(const DekRecord& record);
  Result<ScopeKeyRef> with_field_key(const DekRecord& record, const SecretBytes& dek, bool under_older);
  // The slow paths: read the catalog, then serve `cached` again if its row is unchanged.
  Result<ScopeKeyRef> encryption_key_from_catalog(const std::string& scope, std::string_view kek_family, std::uint64_t bytes,
                                                  const ScopeKeyRef& cached);
  Result<ScopeKeyRef> decryption_key_from_catalog(const envelope::DekId& dek_id, std::uint64_t bytes, const ScopeKeyRef& cached);
  // A key past a limit: its DEK is used up, so the next load unwraps it again.
  void evict_dek(const ScopeKey& used_up);
  Result<ScopeKeyRef> revalidated(const ScopeKeyRef& cached, const DekRecord& record, bool active, DekCache::TimePoint read_at);
  // Changes whenever keys may have been taken away (see ScopeKeyCache, "Generations").
  std::uint64_t generation() const {
    return key_removals() + cache_.invalidations() + forgets_.load(std::memory_order_acquire);
  }

  KeyHierarchy& hierarchy_;
  Catalog& catalog_;
  DekCache& cache_;
  ScopeKeyCache keys_;
  std::atomic<std::uint64_t> forgets_{0};
  std::recursive_mutex catalog_mutex_;  // the catalog calls are one at a time (see above)
  std::function<void()> before_record_;
  std::mutex token_versions_mutex_;
  std::map<std::string, std::uint32_t, std::less<>> token_latest_versions_;  // per family, asked once
};

}  // namespace keyward::hierarchy
