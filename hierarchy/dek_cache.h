// DekCache: plaintext DEKs on the host, for a bounded time and a bounded amount of use.
//
// Keyed by (KEK family, KEK version, DEK ID), so a rotation or a shred never serves a stale DEK.
// Limits, as the AWS Encryption SDK's caching materials manager has them: absolute TTL, idle
// timeout, LRU capacity, and maximum uses and bytes per entry. An entry past a limit is evicted and
// loaded again. Concurrent misses for one key cause exactly one load (single flight); a failed load
// reaches every waiter and is not cached.
//
// DEKs are handed out as leases (shared_ptr<const SecretBytes>): eviction drops the cache's
// reference, and the SecretBytes is wiped when the last lease is released. Keep leases short.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "envelope/format.h"
#include "pkcs11/error.h"
#include "pkcs11/secret_bytes.h"

namespace keyward::hierarchy {

struct DekCacheKey {
  std::string kek_family;
  std::uint32_t kek_version = 0;
  envelope::DekId dek_id{};
  bool operator==(const DekCacheKey&) const = default;
};

struct DekCacheLimits {
  std::chrono::milliseconds ttl{5 * 60 * 1000};
  std::chrono::milliseconds idle{60 * 1000};
  std::size_t capacity = 1024;
  std::uint64_t max_uses = std::uint64_t{1} << 32;
  std::uint64_t max_bytes = std::uint64_t{1} << 36;
};

struct DekCacheStats {
  std::uint64_t hits = 0, misses = 0, loads = 0, evictions = 0;
};

class DekCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using Loader = std::function<Result<SecretBytes>()>;
  using Lease = std::shared_ptr<const SecretBytes>;

  explicit DekCache(DekCacheLimits limits = {}, Clock clock = std::chrono::steady_clock::now);
  DekCache(const DekCache&) = delete;
  DekCache& operator=(const DekCache&) = delete;
  ~DekCache();

  // The DEK for `key`, counting one use and `bytes` against its limits; `load` runs on a miss.
  Result<Lease> get(const DekCacheKey& key, std::uint64_t bytes, const Loader& load);

  void invalidate_family(std::string_view kek_family);
  void invalidate_version(std::string_view kek_family, std::uint32_t kek_version);
  void invalidate_dek(const envelope::DekId& dek_id);
  void clear();

  std::size_t size() const;
  DekCacheStats stats() const;

 private:
  struct KeyHash {
    std::size_t operator()(const DekCacheKey& key) const;
  };
  struct Entry {
    Lease dek;
    std::chrono::steady_clock::time_point created, last_used;
    std::uint64_t uses = 0, bytes = 0;
    std::list<DekCacheKey>::iterator lru;
  };
  struct Flight;

  bool usable(const Entry& entry, std::uint64_t bytes, std::chrono::steady_clock::time_point now) const;
  void erase_locked(std::unordered_map<DekCacheKey, Entry, KeyHash>::iterator it);
  template <class Predicate>
  void erase_if_locked(Predicate&& matches);

  DekCacheLimits limits_;
  Clock clock_;
  mutable std::mutex mutex_;
  std::unordered_map<DekCacheKey, Entry, KeyHash> entries_;
  std::list<DekCacheKey> lru_;  // most recent first
  std::unordered_map<DekCacheKey, std::shared_ptr<Flight>, KeyHash> flights_;
  DekCacheStats stats_;
};

}  // namespace keyward::hierarchy
