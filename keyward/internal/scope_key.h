// ScopeKey: one catalog DEK ready for field work — its record and the subkeys derived from it.
#pragma once

#include <memory>

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
};

// Shared and immutable: the key service hands the same one to every caller until it changes.
using ScopeKeyRef = std::shared_ptr<const ScopeKey>;

}  // namespace keyward::hierarchy
