// Crypto-shredding a scope: its DEKs leave the catalog (and every file of it), optionally with the
// scope's own KEK family in the token. Complete only when no copy of a shredded wrapped DEK remains in
// any catalog file; otherwise the report says what remains and why.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "hierarchy/key_hierarchy.h"

namespace keyward::rotation {

struct ShredReport {
  std::size_t deks_destroyed = 0;
  std::vector<hierarchy::KekRef> keks_destroyed;
  std::vector<hierarchy::Catalog::Residue> residues;  // copies that could not be removed (yet)
  bool complete() const { return residues.empty(); }
};

// Shreds `scope`. With `kek_family`, every version of that family is destroyed in the token too,
// which is refused (policy) while a DEK of another scope is wrapped under it: a family is the
// scope's own only if nothing else uses it.
Result<ShredReport> shred_scope(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const std::string& scope,
                                const std::optional<std::string>& kek_family);

}  // namespace keyward::rotation
