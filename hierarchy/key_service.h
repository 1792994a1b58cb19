// KeyService: what an application calls for field encryption — per-scope DEKs from the catalog,
// generated in the token on first use, unwrapped through the DEK cache.
//
// This is the layer above "who can unwrap" (KeyHierarchy): it chooses the KEK version, keeps the
// catalog and the cache, and tells the caller when an entry is under an older KEK version.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "envelope/field.h"
#include "hierarchy/catalog.h"
#include "hierarchy/dek_cache.h"
#include "hierarchy/key_hierarchy.h"

namespace keyward::hierarchy {

struct ScopeKey {
  DekRecord record;
  std::shared_ptr<const envelope::FieldKey> field_key;
  bool under_older_kek_version = false;  // rewrap_catalog_entry() moves it to the active version
};

class KeyService {
 public:
  KeyService(KeyHierarchy& hierarchy, Catalog& catalog, DekCache& cache);

  // The scope's active DEK; a new one (generated in the token under `kek_family`'s newest version
  // and recorded in the catalog) if the scope has none. Errors: shredded for a shredded scope.
  Result<ScopeKey> key_for_encryption(const std::string& scope, const std::string& kek_family);
  // The DEK named by a value's DEK ID, under whichever KEK version the catalog records.
  Result<ScopeKey> key_for_decryption(const envelope::DekId& dek_id);
  // Every DEK of the scope (for lookups across key versions).
  Result<std::vector<ScopeKey>> keys_of_scope(const std::string& scope);

  // Rewraps one catalog entry under the newest KEK version of its family, inside the token.
  Status rewrap_catalog_entry(const envelope::DekId& dek_id);

 private:
  Result<ScopeKey> load(const DekRecord& record);

  KeyHierarchy& hierarchy_;
  Catalog& catalog_;
  DekCache& cache_;
};

}  // namespace keyward::hierarchy
