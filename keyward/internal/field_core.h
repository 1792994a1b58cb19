// Internal to the public API: what a Field holds — its options and the context encoded once. Keys
// come from the key service on every call: its in-memory keys make that a lookup, and they follow
// shreds, rewraps and the DEK cache's limits (keyward/internal/key_service.h, "Staleness"), which a
// key pinned in the Field would not.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "envelope/field.h"
#include "keyward/field.h"
#include "keyward/internal/client_core.h"

namespace keyward::internal {

struct FieldCore {
  FieldCore(std::shared_ptr<ClientCore> client_core, hierarchy::KeyService& key_service, FieldOptions field_options);

  // The scope's active DEK (created if the scope has none); `bytes` counts against its limits.
  Result<hierarchy::ScopeKeyRef> encryption_key(std::uint64_t bytes = 0) const;
  // Every DEK of the scope (empty: none yet).
  Result<std::vector<hierarchy::ScopeKey>> lookup_keys() const;

  const std::shared_ptr<ClientCore> client;  // keeps the token, catalog and cache alive
  hierarchy::KeyService& keys;
  const FieldOptions options;
  const envelope::FieldSuite suite;
  const envelope::EncodedContext context;
  const std::optional<std::string> expected_scope;  // empty: decrypt_any_scope
};

}  // namespace keyward::internal
