// ScopeKeyCache: KeyService's in-memory keys — DEK ID → ready ScopeKey (decrypt) and scope → its
// active DEK (encrypt) — so that a field value costs a hash lookup, not catalog queries and an HKDF.
//
// What it holds is as secret as the DEK cache's DEKs (the subkeys derived from them), so it keeps
// the DEK cache's limits per DEK: absolute TTL from the load, idle timeout, capacity (LRU per
// shard), maximum uses and bytes. An entry past a limit is dropped and the caller loads again
// (through the DEK cache, which applies the same limits to the DEK itself, and from which the caller
// then evicts the used-up DEK). The TTL counts from when this cache took the key; the DEK cache
// handed it over within its own TTL, so a derived key lives at most 2 × TTL after its DEK's unwrap.
//
// Generations: every entry remembers the caller's generation when its load began; a lookup with
// another generation drops it. The caller (KeyService) makes its generation change whenever keys
// may have been taken away (a shred in this process, a DEK cache invalidation, an explicit forget),
// so a load that raced such a change is never served.
//
// Freshness: an entry is served from memory for `revalidate` after its catalog row was last read;
// after that a lookup returns it with `due` set and the caller re-reads the row before serving it
// (refresh() on success). That interval is the staleness window for changes made by other
// processes (keyward/key_service.h).
//
// Thread-safety: every member may be called concurrently. Cost of a hit: one shard mutex, one hash
// lookup (no allocation), an LRU splice, a shared_ptr copy.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "catalog/dek_cache.h"
#include "keyward/internal/scope_key.h"

namespace keyward::hierarchy {

class ScopeKeyCache {
 public:
  using TimePoint = DekCache::TimePoint;
  struct Limits {
    DekCacheLimits dek;                             // the same limits as the DEK cache's
    std::chrono::milliseconds revalidate{1000};     // read the catalog row again after this
  };
  struct Found {
    ScopeKeyRef key;   // null: not cached, or dropped (a limit, another generation)
    bool due = false;  // cached, but its catalog row must be read again before it is served
    // Dropped for a limit (TTL, idle, uses, bytes): the key's DEK is used up, not only this entry;
    // the caller evicts it from the DEK cache too, so the next load unwraps it again.
    ScopeKeyRef exhausted;
  };

  explicit ScopeKeyCache(Limits limits);
  ScopeKeyCache(const ScopeKeyCache&) = delete;
  ScopeKeyCache& operator=(const ScopeKeyCache&) = delete;

  // The key of DEK `id`, counting one use and `bytes` against its limits.
  Found find_dek(const envelope::DekId& id, std::uint64_t bytes, TimePoint now, std::uint64_t generation);
  // The active key of `scope` (counted as find_dek counts). `due` also when the scope's own
  // state (shredded? which DEK is active?) was read longer than `revalidate` ago.
  Found find_scope(std::string_view scope, std::uint64_t bytes, TimePoint now, std::uint64_t generation);

  // Caches `key`, whose load began under `generation` (if that is no longer current, the next
  // lookup drops it). `active`: also the active key of its scope. `verified`: its catalog row was just
  // read (false: due at the next lookup). One use is counted, as the caller is about to use it.
  void put(const ScopeKeyRef& key, bool active, TimePoint now, std::uint64_t generation, bool verified);
  // The catalog row of `key`'s DEK (and, with `active`, its scope's state) was read again at `now`:
  // serve `key` (the same DEK, possibly with a new record or note) without another read until
  // `now` + revalidate. Keeps the entry's TTL and counters. No-op if the DEK is no longer cached.
  void refresh(const ScopeKeyRef& key, bool active, TimePoint now);

  void forget_dek(const envelope::DekId& id);
  void clear();
  std::size_t size() const;

 private:
  struct DekEntry {
    ScopeKeyRef key;
    TimePoint created, last_used, checked;
    bool verified = false;
    std::uint64_t uses = 0, bytes = 0, generation = 0;
    std::list<envelope::DekId>::iterator lru;
  };
  struct ScopeEntry {
    envelope::DekId dek_id{};
    TimePoint checked;
    bool verified = false;
    std::uint64_t generation = 0;
    std::list<std::string>::iterator lru;
  };
  struct IdHash {
    std::size_t operator()(const envelope::DekId& id) const;
  };
  struct ScopeHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view scope) const { return std::hash<std::string_view>{}(scope); }
  };
  static constexpr std::size_t kShards = 16, kMinPerShard = 16;
  struct alignas(64) Shard {
    mutable std::mutex mutex;
    std::unordered_map<envelope::DekId, DekEntry, IdHash> deks;
    std::list<envelope::DekId> dek_lru;  // most recent first
    std::unordered_map<std::string, ScopeEntry, ScopeHash, std::equal_to<>> scopes;
    std::list<std::string> scope_lru;
  };
  Shard& shard_for(std::size_t hash) const { return shards_[shard_count_ == 1 ? 0 : (hash >> 7) % shard_count_]; }
  bool usable(const DekEntry& entry, std::uint64_t bytes, TimePoint now, std::uint64_t generation) const;
  bool fresh(TimePoint checked, bool verified, TimePoint now) const;
  void put_scope(const std::string& scope, const envelope::DekId& id, TimePoint now, std::uint64_t generation, bool verified);

  Limits limits_;
  std::size_t shard_count_ = 1, per_shard_ = 1;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace keyward::hierarchy
