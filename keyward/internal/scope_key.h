// ScopeKey: one catalog DEK ready for field work — its record and the subkeys derived from it.
#pragma once

#include <memory>

#include "audit/usage.h"
#include "catalog/catalog.h"
#include "envelope/field.h"

namespace keyward::hierarchy {

struct ScopeKey {
  DekRecord record;
  std::shared_ptr<const envelope::FieldKey> field_key;  // derived for record.scope (bound into version 2 values)
  // The catalog's kek_versions record a newer version of the family, or this one as decrypt-only
  // (for a family it records nothing of: the token's newest version when first asked):
  // rewrap_catalog_entry() moves it to the active version.
  bool under_older_kek_version = false;
  // This DEK's use counts for the audit log (audit/usage.h); null when the process keeps no audit log.
  audit::UsageCounter* usage = nullptr;

  void count_encryption(std::uint64_t bytes) const {
    if (usage != nullptr) usage->add_encryption(bytes);
  }
  void count_decryption(std::uint64_t bytes) const {
    if (usage != nullptr) usage->add_decryption(bytes);
  }
};

// Shared and immutable: the key service hands the same one to every caller until it changes.
using ScopeKeyRef = std::shared_ptr<const ScopeKey>;

}  // namespace keyward::hierarchy
