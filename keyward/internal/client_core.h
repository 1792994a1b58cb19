// Internal to the public API: what a Client holds — the opened token and, from the first field call
// on, the catalog (shared by every thread through LockedCatalog), the DEK cache and the KeyService.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "audit/process_log.h"
#include "catalog/catalog.h"
#include "catalog/dek_cache.h"
#include "hierarchy/key_hierarchy.h"
#include "hierarchy/open_hierarchy.h"
#include "keyward/client_options.h"
#include "keyward/internal/key_service.h"

namespace keyward::internal {

struct ClientCore {
  ClientCore(ClientOptions client_options, std::string resolved_catalog, hierarchy::OpenedToken opened)
      : options(std::move(client_options)), catalog_path(std::move(resolved_catalog)), token(std::move(opened)) {}

  hierarchy::KeyHierarchy& hierarchy() const { return *token.hierarchy; }

  // The KeyService, opening the catalog on the first call (once; a failed open is retried by the
  // next call). Later calls cost one atomic load.
  Result<hierarchy::KeyService*> key_service();

  const ClientOptions options;
  const std::string catalog_path;
  hierarchy::OpenedToken token;
  std::unique_ptr<audit::ProcessAuditLog> audit_log;  // null: no audit log (ClientOptions::audit_log)

 private:
  std::mutex open_mutex_;
  // Destroyed in reverse: the service before the cache before the catalog.
  std::unique_ptr<hierarchy::Catalog> catalog_;
  std::unique_ptr<hierarchy::DekCache> cache_;
  std::unique_ptr<hierarchy::KeyService> keys_;
  std::atomic<hierarchy::KeyService*> ready_{nullptr};
};

}  // namespace keyward::internal
