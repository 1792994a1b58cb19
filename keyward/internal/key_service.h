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
// Thread-safe if the catalog is (one SqliteCatalog is one connection: one per thread).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "envelope/field.h"
#include "catalog/catalog.h"
#include "catalog/dek_cache.h"
#include "hierarchy/key_hierarchy.h"

namespace keyward::hierarchy {

struct ScopeKey {
  DekRecord record;
  std::shared_ptr<const envelope::FieldKey> field_key;  // derived for record.scope (bound into version 2 values)
  // The catalog's kek_versions record a newer version of the family, or this one as decrypt-only
  // (for a family it records nothing of: the token's newest version when first asked):
  // rewrap_catalog_entry() moves it to the active version.
  bool under_older_kek_version = false;
};

class KeyService {
 public:
  // How often key_for_encryption regenerates a new scope's DEK when a rotation made the KEK
  // version it was wrapped under stale between generating and recording it.
  static constexpr int kStaleVersionAttempts = 4;

  KeyService(KeyHierarchy& hierarchy, Catalog& catalog, DekCache& cache);

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
  // Every DEK of the scope (for lookups across key versions).
  Result<std::vector<ScopeKey>> keys_of_scope(const std::string& scope);

  // Rewraps one catalog entry under the newest KEK version of its family, inside the token.
  Status rewrap_catalog_entry(const envelope::DekId& dek_id);

  // Test seam: runs between generating a new scope DEK in the token and recording it.
  void set_before_record_for_test(std::function<void()> hook) { before_record_ = std::move(hook); }

 private:
  Result<ScopeKey> load(const DekRecord& record);
  Result<bool> under_older_version(const DekRecord& record);
  Result<ScopeKey> with_field_key(const DekRecord& record, const SecretBytes& dek, bool under_older);

  KeyHierarchy& hierarchy_;
  Catalog& catalog_;
  DekCache& cache_;
  std::function<void()> before_record_;
  std::mutex token_versions_mutex_;
  std::map<std::string, std::uint32_t, std::less<>> token_latest_versions_;  // per family, asked once
};

}  // namespace keyward::hierarchy
