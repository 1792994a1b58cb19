#include "keyward/internal/scope_key_cache.h"

#include <cstring>

namespace keyward::hierarchy {

std::size_t ScopeKeyCache::IdHash::operator()(const envelope::DekId& id) const {
  // DEK IDs are 16 random bytes: 8 of them are a good hash already.
  std::uint64_t bits = 0;
  std::memcpy(&bits, id.data(), sizeof bits);
  return static_cast<std::size_t>(bits);
}

ScopeKeyCache::ScopeKeyCache(Limits limits) : limits_(limits) {
  if (limits_.dek.capacity == 0) limits_.dek.capacity = 1;
  shard_count_ = limits_.dek.capacity >= kShards * kMinPerShard ? kShards : 1;
  per_shard_ = limits_.dek.capacity / shard_count_;
  shards_ = std::make_unique<Shard[]>(shard_count_);
}

bool ScopeKeyCache::usable(const DekEntry& entry, std::uint64_t bytes, TimePoint now, std::uint64_t generation) const {
  // As DekCache::usable; cached entries are within the limits, so the subtraction cannot wrap.
  return entry.generation == generation && now - entry.created < limits_.dek.ttl && now - entry.last_used < limits_.dek.idle &&
         entry.uses < limits_.dek.max_uses && bytes <= limits_.dek.max_bytes - entry.bytes;
}

bool ScopeKeyCache::fresh(TimePoint checked, bool verified, TimePoint now) const {
  return verified && now - checked < limits_.revalidate;
}

ScopeKeyCache::Found ScopeKeyCache::find_dek(const envelope::DekId& id, std::uint64_t bytes, TimePoint now,
                                             std::uint64_t generation) {
  Shard& shard = shard_for(IdHash{}(id));
  std::lock_guard lock(shard.mutex);
  auto it = shard.deks.find(id);
  if (it == shard.deks.end()) return {};
  DekEntry& entry = it->second;
  if (!usable(entry, bytes, now, generation)) {
    Found found;
    if (entry.generation == generation) found.exhausted = std::move(entry.key);
    shard.dek_lru.erase(entry.lru);
    shard.deks.erase(it);  // the subkeys are wiped when the last caller drops the ScopeKey
    return found;
  }
  ++entry.uses;
  entry.bytes += bytes;
  entry.last_used = now;
  shard.dek_lru.splice(shard.dek_lru.begin(), shard.dek_lru, entry.lru);
  return {entry.key, !fresh(entry.checked, entry.verified, now), nullptr};
}

ScopeKeyCache::Found ScopeKeyCache::find_scope(std::string_view scope, std::uint64_t bytes, TimePoint now,
                                               std::uint64_t generation) {
  envelope::DekId id{};
  bool scope_due = false;
  {
    Shard& shard = shard_for(ScopeHash{}(scope));
    std::lock_guard lock(shard.mutex);
    auto it = shard.scopes.find(scope);
    if (it == shard.scopes.end()) return {};
    if (it->second.generation != generation) {
      shard.scope_lru.erase(it->second.lru);
      shard.scopes.erase(it);
      return {};
    }
    id = it->second.dek_id;
    scope_due = !fresh(it->second.checked, it->second.verified, now);
    shard.scope_lru.splice(shard.scope_lru.begin(), shard.scope_lru, it->second.lru);
  }
  Found found = find_dek(id, bytes, now, generation);
  found.due = found.due || scope_due;
  return found;
}

void ScopeKeyCache::put(const ScopeKeyRef& key, bool active, TimePoint now, std::uint64_t generation, bool verified) {
  const envelope::DekId& id = key->record.dek_id;
  {
    Shard& shard = shard_for(IdHash{}(id));
    std::lock_guard lock(shard.mutex);
    if (auto old = shard.deks.find(id); old != shard.deks.end()) {
      shard.dek_lru.erase(old->second.lru);
      shard.deks.erase(old);
    }
    shard.dek_lru.push_front(id);
    shard.deks.emplace(id, DekEntry{key, now, now, now, verified, 1, 0, generation, shard.dek_lru.begin()});
    while (shard.deks.size() > per_shard_) {
      shard.deks.erase(shard.dek_lru.back());
      shard.dek_lru.pop_back();
    }
  }
  if (active) put_scope(key->record.scope, id, now, generation, verified);
}

void ScopeKeyCache::put_scope(const std::string& scope, const envelope::DekId& id, TimePoint now, std::uint64_t generation,
                              bool verified) {
  Shard& shard = shard_for(ScopeHash{}(scope));
  std::lock_guard lock(shard.mutex);
  if (auto old = shard.scopes.find(scope); old != shard.scopes.end()) {
    shard.scope_lru.erase(old->second.lru);
    shard.scopes.erase(old);
  }
  shard.scope_lru.push_front(scope);
  shard.scopes.emplace(scope, ScopeEntry{id, now, verified, generation, shard.scope_lru.begin()});
  while (shard.scopes.size() > per_shard_) {
    auto victim = shard.scopes.find(shard.scope_lru.back());
    shard.scopes.erase(victim);
    shard.scope_lru.pop_back();
  }
}

void ScopeKeyCache::refresh(const ScopeKeyRef& key, bool active, TimePoint now) {
  const envelope::DekId& id = key->record.dek_id;
  std::uint64_t generation = 0;
  {
    Shard& shard = shard_for(IdHash{}(id));
    std::lock_guard lock(shard.mutex);
    auto it = shard.deks.find(id);
    if (it == shard.deks.end()) return;
    it->second.key = key;
    it->second.checked = now;
    it->second.verified = true;
    generation = it->second.generation;
  }
  if (active) put_scope(key->record.scope, id, now, generation, true);
}

void ScopeKeyCache::forget_dek(const envelope::DekId& id) {
  Shard& shard = shard_for(IdHash{}(id));
  std::lock_guard lock(shard.mutex);
  if (auto it = shard.deks.find(id); it != shard.deks.end()) {
    shard.dek_lru.erase(it->second.lru);
    shard.deks.erase(it);
  }
  // A scope entry naming it finds no DEK entry and misses: nothing else to drop.
}

void ScopeKeyCache::clear() {
  for (std::size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    shard.deks.clear();
    shard.dek_lru.clear();
    shard.scopes.clear();
    shard.scope_lru.clear();
  }
}

std::size_t ScopeKeyCache::size() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    total += shards_[i].deks.size();
  }
  return total;
}

}  // namespace keyward::hierarchy
