// Internal to the public API: what a Field holds — its options, the context encoded once, and the
// scope's DEKs pinned on first use (one lock the first time; afterwards one atomic load per value).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "envelope/field.h"
#include "keyward/field.h"
#include "keyward/internal/client_core.h"

namespace keyward::internal {

struct FieldCore {
  FieldCore(std::shared_ptr<ClientCore> client_core, hierarchy::KeyService& key_service, FieldOptions field_options);

  // The scope's active DEK, resolved (and created if the scope has none) on the first call.
  Result<const hierarchy::ScopeKey*> encryption_key();
  // Every DEK of the scope, loaded on the first call that finds any.
  Result<const std::vector<hierarchy::ScopeKey>*> lookup_keys();

  const std::shared_ptr<ClientCore> client;  // keeps the token, catalog and cache alive
  hierarchy::KeyService& keys;
  const FieldOptions options;
  const envelope::FieldSuite suite;
  const envelope::EncodedContext context;
  const std::optional<std::string> expected_scope;  // empty: decrypt_any_scope

 private:
  std::mutex pin_mutex_;
  std::optional<hierarchy::ScopeKey> encryption_key_;
  std::atomic<const hierarchy::ScopeKey*> encryption_key_ready_{nullptr};
  std::optional<std::vector<hierarchy::ScopeKey>> lookup_keys_;
  std::atomic<const std::vector<hierarchy::ScopeKey>*> lookup_keys_ready_{nullptr};
};

}  // namespace keyward::internal
