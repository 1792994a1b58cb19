// DekCache: plaintext DEKs on the host, for a bounded time and a bounded amount of use.
//
// Keyed by (KEK family, KEK version, DEK ID), so a rotation or a shred never serves a stale DEK: a
// rewrapped DEK is a different key, and invalidate_*() drops what a caller knows to be stale.
// Limits, as the AWS Encryption SDK's caching materials manager has them: absolute TTL (from the
// load), idle timeout (since the last get), LRU capacity, and maximum uses and bytes per entry. A
// get that would take an entry past a limit evicts it and loads again; a single request larger than
// max_bytes is served from a fresh load that is not cached.
//
// Single flight: concurrent misses for one key cause exactly one loader call (one token unwrap);
// the other callers wait for it and share its outcome, each counted against the entry's limits. A
// failed load reaches every waiter and is not cached. A load that an invalidate_*() or clear()
// overtook is handed to the callers that were waiting for it but is not cached.
//
// Ownership and wiping: DEKs are handed out as leases, shared_ptr<const SecretBytes>. The cache
// holds one reference; eviction, invalidation, clear() and the destructor drop it. Whoever drops
// the last reference runs the lease's deleter, which wipe()s the SecretBytes (OPENSSL_cleanse, then
// the storage is released) before freeing it. So no plaintext stays in memory after both the cache
// and every caller are done with a DEK, and nothing is wiped under a caller still using it. Keep
// leases short (one operation); never copy the bytes out of a lease. There is exactly one copy of
// each DEK: the loader's SecretBytes is moved (not copied) into the lease.
//
// Thread-safety: every member function may be called concurrently, except that the cache must
// outlive every get() in progress. Leases may outlive the cache.
//
// Cost: a hit takes one mutex (of 16 shards, for caches of 256 entries or more), one hash lookup with no allocation (also for KEK family names too long
// for the small-string buffer: get() with a string_view looks up without building a key), an
// LRU splice and an atomic reference count increment.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "envelope/format.h"
#include "base/error.h"
#include "base/secret_bytes.h"

namespace keyward::hierarchy {

struct DekCacheKey {
  std::string kek_family;
  std::uint32_t kek_version = 0;
  envelope::DekId dek_id{};
  bool operator==(const DekCacheKey&) const = default;
};

struct DekCacheLimits {
  std::chrono::milliseconds ttl{5 * 60 * 1000};  // absolute, from the load
  std::chrono::milliseconds idle{60 * 1000};     // since the last get
  std::size_t capacity = 1024;                   // entries; 0 is treated as 1; LRU per shard (below)
  std::uint64_t max_uses = std::uint64_t{1} << 32;
  std::uint64_t max_bytes = std::uint64_t{1} << 36;
};

struct DekCacheStats {
  std::uint64_t hits = 0;      // served from a cached entry
  std::uint64_t misses = 0;    // gets that started a load or waited for one
  std::uint64_t loads = 0;     // loader calls
  std::uint64_t load_failures = 0;
  std::uint64_t waits = 0;     // gets that shared another caller's load (single flight)
  std::uint64_t evictions = 0;  // entries dropped (limits, capacity, invalidation, clear)
};

class DekCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Clock = std::function<TimePoint()>;
  using Loader = std::function<Result<SecretBytes>()>;
  using Lease = std::shared_ptr<const SecretBytes>;
  // Called by a lease's deleter after it wiped the DEK and before it frees it; `wiped` is the
  // (now empty) SecretBytes. A hook for tests and audits; must not throw; may run on any thread,
  // after the cache is gone.
  using WipeObserver = std::function<void(const DekCacheKey& key, const SecretBytes& wiped)>;

  // `clock` is injectable for tests; it must be monotonic.
  explicit DekCache(DekCacheLimits limits = {}, Clock clock = std::chrono::steady_clock::now);
  DekCache(const DekCache&) = delete;
  DekCache& operator=(const DekCache&) = delete;
  // Drops every entry (see clear()).
  ~DekCache();

  // The DEK for (kek_family, kek_version, dek_id), counting one use and `bytes` (what the caller
  // will encrypt or decrypt with it) against the entry's limits. On a miss calls `load` (any
  // callable returning Result<SecretBytes>; not stored) — once for all concurrent callers of that
  // key. Errors: whatever `load` returned (not cached); internal if it threw.
  template <class LoadFunction>
    requires std::is_invocable_r_v<Result<SecretBytes>, LoadFunction&>
  Result<Lease> get(std::string_view kek_family, std::uint32_t kek_version, const envelope::DekId& dek_id,
                    std::uint64_t bytes, LoadFunction&& load) {
    return get_or_load(KeyView{kek_family, kek_version, dek_id}, bytes, LoaderRef(load));
  }
  template <class LoadFunction>
    requires std::is_invocable_r_v<Result<SecretBytes>, LoadFunction&>
  Result<Lease> get(const DekCacheKey& key, std::uint64_t bytes, LoadFunction&& load) {
    return get_or_load(KeyView{key.kek_family, key.kek_version, key.dek_id}, bytes, LoaderRef(load));
  }

  // Drop matching entries now (leases in use stay valid until released), and make loads in
  // progress for them not be cached. Use after a rotation finished (old version), a shred, or
  // when the catalog says an entry changed.
  void invalidate_family(std::string_view kek_family);
  void invalidate_version(std::string_view kek_family, std::uint32_t kek_version);
  void invalidate_dek(const envelope::DekId& dek_id);
  void clear();
  // Drops the entry for `key` because a holder of keys derived from it found it past a limit (its
  // own count of uses, bytes or time): the next get() unwraps the DEK again. Not an invalidation
  // (invalidations() is unchanged): nothing derived from the DEK is wrong, only used up.
  void evict(const DekCacheKey& key);

  // Installs the hook that sees every DEK this cache loads being wiped (for DEKs loaded after
  // the call). Thread-safe.
  void set_wipe_observer(WipeObserver observer);

  std::size_t size() const;
  DekCacheStats stats() const;

  // For layers that keep keys derived from this cache's DEKs (KeyService's ScopeKeyCache): the same
  // limits and clock, and a counter that changes whenever invalidate_*() or clear() ran, so that
  // they drop what they derived from a DEK that was invalidated here. Thread-safe.
  const DekCacheLimits& limits() const { return limits_; }
  TimePoint now() const { return clock_(); }
  std::uint64_t invalidations() const { return invalidations_.load(std::memory_order_acquire); }

 private:
  // A borrowed (kek family, version, DEK ID), for lookups without building a DekCacheKey.
  struct KeyView {
    std::string_view kek_family;
    std::uint32_t kek_version;
    const envelope::DekId& dek_id;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(const DekCacheKey& key) const { return hash(key.kek_family, key.kek_version, key.dek_id); }
    std::size_t operator()(const KeyView& key) const { return hash(key.kek_family, key.kek_version, key.dek_id); }
    static std::size_t hash(std::string_view family, std::uint32_t version, const envelope::DekId& id);
  };
  struct KeyEqual {
    using is_transparent = void;
    static bool same(std::string_view family, std::uint32_t version, const envelope::DekId& id, const DekCacheKey& key) {
      return version == key.kek_version && id == key.dek_id && family == key.kek_family;
    }
    bool operator()(const DekCacheKey& a, const DekCacheKey& b) const { return a == b; }
    bool operator()(const KeyView& a, const DekCacheKey& b) const { return same(a.kek_family, a.kek_version, a.dek_id, b); }
    bool operator()(const DekCacheKey& a, const KeyView& b) const { return same(b.kek_family, b.kek_version, b.dek_id, a); }
  };
  // A non-owning reference to the caller's loader (std::function_ref is C++26): no allocation.
  class LoaderRef {
   public:
    template <class F>
    explicit LoaderRef(F& function)
        : object_(std::addressof(function)),
          call_([](void* object) -> Result<SecretBytes> { return (*static_cast<F*>(object))(); }) {}
    Result<SecretBytes> operator()() const { return call_(object_); }

   private:
    void* object_;
    Result<SecretBytes> (*call_)(void*);
  };
  struct Entry {
    Lease dek;
    TimePoint created, last_used;
    std::uint64_t uses = 0, bytes = 0;
    std::list<DekCacheKey>::iterator lru;
  };
  struct Flight;
  using EntryMap = std::unordered_map<DekCacheKey, Entry, KeyHash, KeyEqual>;
  using FlightMap = std::unordered_map<DekCacheKey, std::shared_ptr<Flight>, KeyHash, KeyEqual>;

  struct Shard;
  Result<Lease> get_or_load(const KeyView& key, std::uint64_t bytes, LoaderRef load);
  static Result<Lease> make_lease(SecretBytes dek, const DekCacheKey& key, std::shared_ptr<const WipeObserver> observer);
  bool within_limits(std::uint64_t uses, std::uint64_t bytes) const;
  bool usable(const Entry& entry, std::uint64_t bytes, TimePoint now) const;
  static void erase_locked(Shard& shard, EntryMap::iterator it);

  // The cache is split into shards by key hash, each with its own mutex, map, LRU list and share
  // of the capacity, so that hits on different DEKs from different threads do not queue on one
  // lock. LRU order is therefore per shard. Small caches (capacity < kMinPerShard · kShards) have
  // one shard and an exact LRU.
  static constexpr std::size_t kShards = 16, kMinPerShard = 16;
  struct alignas(64) Shard {
    mutable std::mutex mutex;
    std::size_t capacity = 1;
    EntryMap entries;
    std::list<DekCacheKey> lru;  // most recent first
    FlightMap flights;           // loads in progress
    DekCacheStats stats;
  };
  Shard& shard_for(std::size_t hash) { return shards_[shard_count_ == 1 ? 0 : (hash >> 32) % shard_count_]; }
  template <class Predicate>
  void erase_everywhere(const Predicate& matches);

  DekCacheLimits limits_;
  Clock clock_;
  std::size_t shard_count_ = 1;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<std::uint64_t> invalidations_{0};
  mutable std::mutex observer_mutex_;
  std::shared_ptr<const WipeObserver> wipe_observer_;
};

}  // namespace keyward::hierarchy
