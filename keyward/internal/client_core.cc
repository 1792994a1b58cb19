#include "keyward/internal/client_core.h"

#include "catalog/locked_catalog.h"
#include "catalog/catalog_location.h"

namespace keyward::internal {

Result<hierarchy::KeyService*> ClientCore::key_service() {
  if (auto* ready = ready_.load(std::memory_order_acquire)) return ready;
  std::lock_guard lock(open_mutex_);
  if (keys_) return keys_.get();
  auto opened = hierarchy::open_catalog(catalog_path, {.read_only = options.read_only_catalog});
  if (!opened) return fail(std::move(opened).error());
  catalog_ = std::make_unique<hierarchy::LockedCatalog>(std::move(*opened));
  cache_ = std::make_unique<hierarchy::DekCache>(hierarchy::DekCacheLimits{
      .ttl = options.dek_cache.ttl, .idle = options.dek_cache.idle, .capacity = options.dek_cache.max_entries});
  keys_ = std::make_unique<hierarchy::KeyService>(
      *token.hierarchy, *catalog_, *cache_, hierarchy::KeyServiceOptions{.revalidate_after = options.dek_cache.revalidate_after});
  ready_.store(keys_.get(), std::memory_order_release);
  return keys_.get();
}

}  // namespace keyward::internal
