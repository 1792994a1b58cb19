#include "catalog/dek_cache.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <optional>

namespace keyward::hierarchy {

// One load in progress for one key. Every field is guarded by the cache's mutex.
struct DekCache::Flight {
  std::condition_variable done_signal;
  // Reserved by the leader and every waiter that joined, so the cached entry starts with them all.
  std::uint64_t uses = 0, bytes = 0;
  bool cancelled = false;  // an invalidation overtook the load: hand it out, do not cache it
  bool done = false;
  std::optional<Result<Lease>> result;
};

namespace {

// The lease's deleter: wipes, tells the observer, frees. Holds no pointer to the cache, which may
// be gone by the time the last lease is released.
struct WipingDeleter {
  std::shared_ptr<const DekCache::WipeObserver> observer;
  std::optional<DekCacheKey> key;  // only kept when there is an observer to tell

  void operator()(SecretBytes* dek) const noexcept {
    dek->wipe();
    if (observer && key) (*observer)(*key, *dek);
    delete dek;
  }
};

}  // namespace

std::size_t DekCache::KeyHash::hash(std::string_view family, std::uint32_t version, const envelope::DekId& id) {
  // DEK IDs are 16 random bytes: 8 of them, the family and the version, mixed by splitmix64's
  // finaliser so that both the low bits (buckets) and the high bits (shards) vary.
  std::uint64_t id_bits = 0;
  std::memcpy(&id_bits, id.data(), sizeof id_bits);
  std::uint64_t h = std::hash<std::string_view>{}(family) ^ (std::uint64_t{version} << 32) ^ id_bits;
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 31;
  return static_cast<std::size_t>(h);
}

DekCache::DekCache(DekCacheLimits limits, Clock clock) : limits_(limits), clock_(std::move(clock)) {
  if (limits_.capacity == 0) limits_.capacity = 1;
  shard_count_ = limits_.capacity >= kShards * kMinPerShard ? kShards : 1;
  shards_ = std::make_unique<Shard[]>(shard_count_);
  for (std::size_t i = 0; i < shard_count_; ++i) shards_[i].capacity = limits_.capacity / shard_count_;
}

DekCache::~DekCache() { clear(); }

bool DekCache::within_limits(std::uint64_t uses, std::uint64_t bytes) const {
  return uses <= limits_.max_uses && bytes <= limits_.max_bytes;
}

bool DekCache::usable(const Entry& entry, std::uint64_t bytes, TimePoint now) const {
  // Cached entries are always within the limits, so the subtractions cannot wrap; written this way
  // round so that a huge `bytes` cannot overflow past the check.
  return now - entry.created < limits_.ttl && now - entry.last_used < limits_.idle && entry.uses < limits_.max_uses &&
         bytes <= limits_.max_bytes - entry.bytes;
}

void DekCache::erase_locked(Shard& shard, EntryMap::iterator it) {
  shard.lru.erase(it->second.lru);
  shard.entries.erase(it);  // drops the cache's reference: the DEK is wiped when the last lease goes
  ++shard.stats.evictions;
}

Result<DekCache::Lease> DekCache::make_lease(SecretBytes dek, const DekCacheKey& key,
                                             std::shared_ptr<const WipeObserver> observer) {
  // Two allocations on the miss path (the SecretBytes object and the control block): the deleter
  // must be ours, so make_shared is not an option. The key bytes stay where the loader put them.
  // If allocating the control block throws, shared_ptr calls the deleter: the DEK is still wiped.
  std::optional<DekCacheKey> observed_key = observer ? std::optional<DekCacheKey>(key) : std::nullopt;
  return Lease(new SecretBytes(std::move(dek)), WipingDeleter{std::move(observer), std::move(observed_key)});
}

Result<DekCache::Lease> DekCache::get_or_load(const KeyView& key, std::uint64_t bytes, LoaderRef load) {
  Shard& shard = shard_for(KeyHash{}(key));
  std::unique_lock lock(shard.mutex);
  for (;;) {
    const TimePoint now = clock_();
    if (auto it = shard.entries.find(key); it != shard.entries.end()) {
      Entry& entry = it->second;
      if (usable(entry, bytes, now)) {
        ++entry.uses;
        entry.bytes += bytes;
        entry.last_used = now;
        shard.lru.splice(shard.lru.begin(), shard.lru, entry.lru);
        ++shard.stats.hits;
        return entry.dek;
      }
      erase_locked(shard, it);
    }
    auto flight_it = shard.flights.find(key);
    if (flight_it == shard.flights.end()) break;  // we lead a new load
    const std::shared_ptr<Flight> flight = flight_it->second;
    const bool joined = flight->uses < limits_.max_uses && bytes <= limits_.max_bytes - std::min(flight->bytes, limits_.max_bytes);
    if (joined) {
      ++flight->uses;
      flight->bytes += bytes;
      ++shard.stats.misses;
      ++shard.stats.waits;
    }
    flight->done_signal.wait(lock, [&] { return flight->done; });
    if (joined) return *flight->result;
    // This use would have taken the DEK past a limit: the entry that load produces is exhausted
    // for us; go round again (it is evicted and we load afresh).
  }

  ++shard.stats.misses;
  const DekCacheKey owned_key{std::string(key.kek_family), key.kek_version, key.dek_id};
  auto flight = std::make_shared<Flight>();
  flight->uses = 1;
  flight->bytes = bytes;
  shard.flights.emplace(owned_key, flight);
  lock.unlock();
  std::shared_ptr<const WipeObserver> observer;
  {
    std::lock_guard observer_lock(observer_mutex_);
    observer = wipe_observer_;
  }

  // The loader runs without the lock: a token unwrap takes a millisecond, hits must not wait for it.
  Result<Lease> result = [&]() -> Result<Lease> {
    try {
      Result<SecretBytes> loaded = load();
      if (!loaded) return std::unexpected(std::move(loaded).error());
      return make_lease(std::move(*loaded), owned_key, std::move(observer));
    } catch (const std::exception& e) {
      return make_error(ErrorCategory::internal, std::string("DEK loader threw: ") + e.what());
    } catch (...) {
      return make_error(ErrorCategory::internal, "DEK loader threw");
    }
  }();

  lock.lock();
  ++shard.stats.loads;
  if (!result) ++shard.stats.load_failures;
  if (auto it = shard.flights.find(owned_key); it != shard.flights.end() && it->second == flight) shard.flights.erase(it);
  if (result && !flight->cancelled && within_limits(flight->uses, flight->bytes)) {
    if (auto stale = shard.entries.find(owned_key); stale != shard.entries.end()) erase_locked(shard, stale);
    const TimePoint now = clock_();
    shard.lru.push_front(owned_key);
    shard.entries.emplace(owned_key, Entry{*result, now, now, flight->uses, flight->bytes, shard.lru.begin()});
    while (shard.entries.size() > shard.capacity) erase_locked(shard, shard.entries.find(shard.lru.back()));
  }
  flight->result = result;
  flight->done = true;
  lock.unlock();
  flight->done_signal.notify_all();
  return result;
}

template <class Predicate>
void DekCache::erase_everywhere(const Predicate& matches) {
  // Counted before erasing: a holder of derived keys that reads the new count afterwards drops them.
  invalidations_.fetch_add(1, std::memory_order_acq_rel);
  for (std::size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    for (auto it = shard.entries.begin(); it != shard.entries.end();) {
      auto next = std::next(it);
      if (matches(it->first)) erase_locked(shard, it);
      it = next;
    }
    for (auto it = shard.flights.begin(); it != shard.flights.end();) {
      if (matches(it->first)) {
        it->second->cancelled = true;  // its result is stale: later gets start a new load
        it = shard.flights.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void DekCache::invalidate_family(std::string_view kek_family) {
  erase_everywhere([&](const DekCacheKey& key) { return key.kek_family == kek_family; });
}

void DekCache::invalidate_version(std::string_view kek_family, std::uint32_t kek_version) {
  erase_everywhere([&](const DekCacheKey& key) { return key.kek_family == kek_family && key.kek_version == kek_version; });
}

void DekCache::invalidate_dek(const envelope::DekId& dek_id) {
  erase_everywhere([&](const DekCacheKey& key) { return key.dek_id == dek_id; });
}

void DekCache::evict(const DekCacheKey& key) {
  const KeyView view{key.kek_family, key.kek_version, key.dek_id};
  Shard& shard = shard_for(KeyHash{}(view));
  std::lock_guard lock(shard.mutex);
  if (auto it = shard.entries.find(view); it != shard.entries.end()) erase_locked(shard, it);
}

void DekCache::clear() {
  erase_everywhere([](const DekCacheKey&) { return true; });
}

void DekCache::set_wipe_observer(WipeObserver observer) {
  auto shared = observer ? std::make_shared<const WipeObserver>(std::move(observer)) : nullptr;
  std::lock_guard lock(observer_mutex_);
  wipe_observer_ = std::move(shared);
}

std::size_t DekCache::size() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    total += shards_[i].entries.size();
  }
  return total;
}

DekCacheStats DekCache::stats() const {
  DekCacheStats total;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    const DekCacheStats& s = shards_[i].stats;
    total.hits += s.hits;
    total.misses += s.misses;
    total.loads += s.loads;
    total.load_failures += s.load_failures;
    total.waits += s.waits;
    total.evictions += s.evictions;
  }
  return total;
}

}  // namespace keyward::hierarchy
