#include "hierarchy/dek_cache.h"

#include <algorithm>
#include <cstring>
#include <optional>

namespace keyward::hierarchy {

// One load in progress for one key; waiters share its outcome.
struct DekCache::Flight {
  std::mutex mutex;
  std::condition_variable done_signal;
  bool done = false;
  std::optional<Result<Lease>> result;
};

std::size_t DekCache::KeyHash::operator()(const DekCacheKey& key) const {
  std::size_t h = std::hash<std::string>{}(key.kek_family) ^ (std::size_t{key.kek_version} * 0x9E3779B97F4A7C15ull);
  std::uint64_t id = 0;
  std::memcpy(&id, key.dek_id.data(), sizeof id);  // DEK IDs are random: 8 of their bytes hash well
  return h ^ (id + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2));
}

DekCache::DekCache(DekCacheLimits limits, Clock clock) : limits_(limits), clock_(std::move(clock)) {
  if (limits_.capacity == 0) limits_.capacity = 1;
}

DekCache::~DekCache() { clear(); }

bool DekCache::usable(const Entry& entry, std::uint64_t bytes, std::chrono::steady_clock::time_point now) const {
  return now - entry.created < limits_.ttl && now - entry.last_used < limits_.idle && entry.uses + 1 <= limits_.max_uses &&
         entry.bytes + bytes <= limits_.max_bytes;
}

void DekCache::erase_locked(std::unordered_map<DekCacheKey, Entry, KeyHash>::iterator it) {
  lru_.erase(it->second.lru);
  entries_.erase(it);  // drops the cache's reference: the DEK is wiped when the last lease goes
  ++stats_.evictions;
}

Result<DekCache::Lease> DekCache::get(const DekCacheKey& key, std::uint64_t bytes, const Loader& load) {
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::lock_guard lock(mutex_);
    const auto now = clock_();
    if (auto it = entries_.find(key); it != entries_.end()) {
      Entry& entry = it->second;
      if (usable(entry, bytes, now)) {
        ++entry.uses;
        entry.bytes += bytes;
        entry.last_used = now;
        lru_.splice(lru_.begin(), lru_, entry.lru);
        ++stats_.hits;
        return entry.dek;
      }
      erase_locked(it);
    }
    ++stats_.misses;
    auto [flight_it, inserted] = flights_.try_emplace(key, nullptr);
    if (inserted) flight_it->second = std::make_shared<Flight>();
    flight = flight_it->second;
    leader = inserted;
  }

  if (!leader) {
    std::unique_lock wait(flight->mutex);
    flight->done_signal.wait(wait, [&] { return flight->done; });
    return *flight->result;
  }

  auto loaded = load();
  Result<Lease> result = loaded ? Result<Lease>(std::make_shared<const SecretBytes>(std::move(*loaded)))
                                : Result<Lease>(std::unexpected(loaded.error()));
  {
    std::lock_guard lock(mutex_);
    ++stats_.loads;
    flights_.erase(key);
    if (result) {
      const auto now = clock_();
      lru_.push_front(key);
      Entry entry{*result, now, now, 1, bytes, lru_.begin()};
      entries_.insert_or_assign(key, std::move(entry));
      while (entries_.size() > limits_.capacity) erase_locked(entries_.find(lru_.back()));
    }
  }
  {
    std::lock_guard done(flight->mutex);
    flight->result = result;
    flight->done = true;
  }
  flight->done_signal.notify_all();
  return result;
}

template <class Predicate>
void DekCache::erase_if_locked(Predicate&& matches) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto next = std::next(it);
    if (matches(it->first)) erase_locked(it);
    it = next;
  }
}

void DekCache::invalidate_family(std::string_view kek_family) {
  std::lock_guard lock(mutex_);
  erase_if_locked([&](const DekCacheKey& key) { return key.kek_family == kek_family; });
}

void DekCache::invalidate_version(std::string_view kek_family, std::uint32_t kek_version) {
  std::lock_guard lock(mutex_);
  erase_if_locked([&](const DekCacheKey& key) { return key.kek_family == kek_family && key.kek_version == kek_version; });
}

void DekCache::invalidate_dek(const envelope::DekId& dek_id) {
  std::lock_guard lock(mutex_);
  erase_if_locked([&](const DekCacheKey& key) { return key.dek_id == dek_id; });
}

void DekCache::clear() {
  std::lock_guard lock(mutex_);
  erase_if_locked([](const DekCacheKey&) { return true; });
}

std::size_t DekCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

DekCacheStats DekCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace keyward::hierarchy
