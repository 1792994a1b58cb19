#include "catalog/dek_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <stdexcept>
#include <thread>

namespace keyward::hierarchy {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  DekCache::Clock function() {
    return [this] { return now; };
  }
};

DekCacheKey key(std::uint8_t id, std::uint32_t version = 1, std::string family = "payments") {
  DekCacheKey k{std::move(family), version, {}};
  k.dek_id[0] = id;
  return k;
}

// A loader that counts its calls and returns a DEK whose bytes are the call number.
struct CountingLoader {
  std::atomic<int> calls{0};
  DekCache::Loader loader() {
    return [this]() -> Result<SecretBytes> {
      const int call = ++calls;
      SecretBytes dek(32);
      std::fill(dek.reveal_mutable().begin(), dek.reveal_mutable().end(), static_cast<std::uint8_t>(call));
      return dek;
    };
  }
};

// Starts `count` threads that wait on one signal and then run `body(index)`.
template <class Body>
void run_together(int count, Body body) {
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i)
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      body(i);
    });
  go = true;
  for (auto& t : threads) t.join();
}

TEST(DekCache, HitAfterMissCallsTheLoaderOnce) {
  DekCache cache;
  CountingLoader load;
  auto a = cache.get(key(1), 10, load.loader());
  auto b = cache.get(key(1), 10, load.loader());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->get(), b->get()) << "a hit hands out the same object, not a copy";
  EXPECT_EQ(load.calls, 1);
  EXPECT_EQ(cache.stats().hits, 1u);
  EXPECT_EQ(cache.stats().loads, 1u);
}

TEST(DekCache, LookupByViewFindsTheSameEntry) {
  DekCache cache;
  CountingLoader load;
  const std::string long_family = "a-kek-family-name-longer-than-the-small-string-buffer";
  auto k = key(3, 2, long_family);
  ASSERT_TRUE(cache.get(k, 0, load.loader()));
  ASSERT_TRUE(cache.get(std::string_view(long_family), 2, k.dek_id, 0, load.loader()));
  EXPECT_EQ(load.calls, 1);
  ASSERT_TRUE(cache.get(std::string_view(long_family), 3, k.dek_id, 0, load.loader()));
  EXPECT_EQ(load.calls, 2) << "another version is another key";
}

TEST(DekCache, AbsoluteTtlExpires) {
  FakeClock clock;
  DekCache cache({.ttl = 10s, .idle = 1h}, clock.function());
  CountingLoader load;
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  clock.now += 5s;
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  clock.now += 4s;
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  EXPECT_EQ(load.calls, 1);
  clock.now += 1s;  // exactly 10 s since the load, though used just now: expired
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  EXPECT_EQ(load.calls, 2);
}

TEST(DekCache, IdleTimeoutExpires) {
  FakeClock clock;
  DekCache cache({.ttl = 1h, .idle = 10s}, clock.function());
  CountingLoader load;
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  for (int i = 0; i < 5; ++i) {
    clock.now += 9s;  // kept alive by use, 45 s in all
    ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  }
  EXPECT_EQ(load.calls, 1);
  clock.now += 10s;
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  EXPECT_EQ(load.calls, 2);
}

TEST(DekCache, LruCapacityEvictsTheLeastRecentlyUsed) {
  DekCache cache({.capacity = 2});
  CountingLoader load;
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  ASSERT_TRUE(cache.get(key(2), 0, load.loader()));
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));  // 1 is now most recent
  ASSERT_TRUE(cache.get(key(3), 0, load.loader()));  // evicts 2
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(load.calls, 3);
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  EXPECT_EQ(load.calls, 3);
  ASSERT_TRUE(cache.get(key(2), 0, load.loader()));
  EXPECT_EQ(load.calls, 4);
  EXPECT_EQ(cache.stats().evictions, 2u);
}

TEST(DekCache, UseLimitForcesAReload) {
  DekCache uses({.max_uses = 3});
  CountingLoader load;
  for (int i = 0; i < 7; ++i) {
    auto lease = uses.get(key(1), 0, load.loader());
    ASSERT_TRUE(lease);
    EXPECT_EQ((*lease)->reveal()[0], i / 3 + 1) << "uses 1-3, 4-6, 7 each from their own load";
  }
  EXPECT_EQ(load.calls, 3);
}

TEST(DekCache, ByteLimitForcesAReload) {
  DekCache bytes({.max_bytes = 100});
  CountingLoader load;
  ASSERT_TRUE(bytes.get(key(1), 60, load.loader()));
  ASSERT_TRUE(bytes.get(key(1), 40, load.loader()));  // exactly 100
  EXPECT_EQ(load.calls, 1);
  ASSERT_TRUE(bytes.get(key(1), 1, load.loader()));
  EXPECT_EQ(load.calls, 2);
  // A huge count must not wrap around the check.
  ASSERT_TRUE(bytes.get(key(1), UINT64_MAX, load.loader()));
  EXPECT_EQ(load.calls, 3);
}

TEST(DekCache, RequestAboveTheByteLimitIsServedButNotCached) {
  DekCache cache({.max_bytes = 100});
  CountingLoader load;
  auto big = cache.get(key(1), 101, load.loader());
  ASSERT_TRUE(big);
  EXPECT_EQ(cache.size(), 0u);
  ASSERT_TRUE(cache.get(key(1), 10, load.loader()));
  EXPECT_EQ(load.calls, 2);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(DekCache, KeysSeparateVersionsAndInvalidationWorks) {
  DekCache cache;
  CountingLoader load;
  ASSERT_TRUE(cache.get(key(1, 1), 0, load.loader()));
  ASSERT_TRUE(cache.get(key(1, 2), 0, load.loader()));
  ASSERT_TRUE(cache.get(key(2, 1, "hr"), 0, load.loader()));
  ASSERT_TRUE(cache.get(key(3, 2), 0, load.loader()));
  EXPECT_EQ(load.calls, 4) << "a KEK version is part of the key: no stale DEK across a rotation";
  cache.invalidate_version("payments", 1);
  EXPECT_EQ(cache.size(), 3u);
  cache.invalidate_family("hr");
  EXPECT_EQ(cache.size(), 2u);
  envelope::DekId id{};
  id[0] = 1;
  cache.invalidate_dek(id);
  EXPECT_EQ(cache.size(), 1u);
  ASSERT_TRUE(cache.get(key(3, 2), 0, load.loader()));
  EXPECT_EQ(load.calls, 4) << "untouched entries survive";
  ASSERT_TRUE(cache.get(key(1, 2), 0, load.loader()));
  EXPECT_EQ(load.calls, 5) << "invalidated entries load again";
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DekCache, InvalidationsAreCountedAndEvictionIsNotOne) {
  DekCache cache;
  CountingLoader load;
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  ASSERT_TRUE(cache.get(key(2), 0, load.loader()));
  const auto before = cache.invalidations();
  cache.evict(key(1));  // used up by a holder of derived keys: reload, but nothing derived is wrong
  EXPECT_EQ(cache.invalidations(), before);
  EXPECT_EQ(cache.size(), 1u);
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  EXPECT_EQ(load.calls, 3) << "an evicted DEK loads again";
  cache.evict(key(9));  // absent: no-op
  cache.invalidate_dek(key(2).dek_id);
  EXPECT_GT(cache.invalidations(), before) << "holders of derived keys must see every invalidation";
  const auto after_one = cache.invalidations();
  cache.clear();
  EXPECT_GT(cache.invalidations(), after_one);
}

TEST(DekCache, SingleFlightUnderSixteenThreads) {
  DekCache cache;
  std::atomic<int> loads{0};
  auto slow_loader = [&]() -> Result<SecretBytes> {
    ++loads;
    std::this_thread::sleep_for(50ms);  // a token unwrap takes time: everyone else must wait, not load
    return SecretBytes(32);
  };
  std::atomic<int> ok{0};
  std::atomic<const SecretBytes*> first{nullptr};
  std::atomic<int> same{0};
  run_together(16, [&](int) {
    auto lease = cache.get(key(9), 1, slow_loader);
    if (!lease) return;
    ++ok;
    const SecretBytes* expected = nullptr;
    if (!first.compare_exchange_strong(expected, lease->get()) && expected == lease->get()) ++same;
  });
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(ok, 16);
  EXPECT_EQ(same, 15) << "every caller got the one loaded DEK";
  const auto stats = cache.stats();
  EXPECT_EQ(stats.loads, 1u);
  EXPECT_EQ(stats.hits + stats.misses, 16u);
}

TEST(DekCache, ConcurrentWaitersCountAgainstTheUseLimit) {
  // 16 simultaneous misses with max_uses 4: no DEK may serve more than 4 of them, even the ones
  // that shared a load instead of hitting an entry.
  DekCache cache({.max_uses = 4});
  std::atomic<int> loads{0};
  auto slow_loader = [&]() -> Result<SecretBytes> {
    const int call = ++loads;
    std::this_thread::sleep_for(20ms);
    SecretBytes dek(32);
    dek.reveal_mutable()[0] = static_cast<std::uint8_t>(call);
    return dek;
  };
  std::mutex mutex;
  std::map<int, int> uses_per_load;
  run_together(16, [&](int) {
    auto lease = cache.get(key(5), 0, slow_loader);
    ASSERT_TRUE(lease);
    std::lock_guard lock(mutex);
    ++uses_per_load[(*lease)->reveal()[0]];
  });
  EXPECT_GE(loads, 4);
  int total = 0;
  for (const auto& [load, uses] : uses_per_load) {
    EXPECT_LE(uses, 4) << "load " << load;
    total += uses;
  }
  EXPECT_EQ(total, 16);
}

TEST(DekCache, FailedLoadReachesAllWaitersAndIsNotCached) {
  DekCache cache;
  std::atomic<int> loads{0};
  auto failing = [&]() -> Result<SecretBytes> {
    ++loads;
    std::this_thread::sleep_for(30ms);
    return make_error(ErrorCategory::token, "C_UnwrapKey: CKR_DEVICE_ERROR");
  };
  std::atomic<int> errors{0};
  run_together(8, [&](int) {
    auto lease = cache.get(key(4), 0, failing);
    if (!lease && lease.error().category == ErrorCategory::token &&
        lease.error().message.find("CKR_DEVICE_ERROR") != std::string::npos)
      ++errors;
  });
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(errors, 8);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.stats().load_failures, 1u);
  CountingLoader load;
  ASSERT_TRUE(cache.get(key(4), 0, load.loader())) << "the error was not cached";
  EXPECT_EQ(load.calls, 1);
}

TEST(DekCache, ThrowingLoaderBecomesAnErrorAndReleasesWaiters) {
  DekCache cache;
  auto throwing = []() -> Result<SecretBytes> {
    std::this_thread::sleep_for(20ms);
    throw std::runtime_error("boom");
  };
  std::atomic<int> internal{0};
  run_together(4, [&](int) {
    auto lease = cache.get(key(6), 0, throwing);
    if (!lease && lease.error().category == ErrorCategory::internal) ++internal;
  });
  EXPECT_EQ(internal, 4);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DekCache, InvalidationDuringALoadKeepsItsResultOutOfTheCache) {
  // A shred or a rotation that finishes while a load is in flight: the loaded DEK goes to the
  // caller that asked before the invalidation, but is not cached for later callers.
  DekCache cache;
  std::atomic<bool> loading{false}, release{false};
  auto gated = [&]() -> Result<SecretBytes> {
    loading = true;
    while (!release) std::this_thread::yield();
    return SecretBytes(32);
  };
  std::thread reader([&] { EXPECT_TRUE(cache.get(key(7), 0, gated)); });
  while (!loading) std::this_thread::yield();
  cache.invalidate_version("payments", 1);
  release = true;
  reader.join();
  EXPECT_EQ(cache.size(), 0u);
  CountingLoader load;
  ASSERT_TRUE(cache.get(key(7), 0, load.loader()));
  EXPECT_EQ(load.calls, 1);
}

// Wiping, observed through the cache's wipe hook: the hook runs inside the lease's deleter after
// SecretBytes::wipe() (OPENSSL_cleanse, storage released) and before the object is freed, so it
// can check that the DEK it is shown is already empty. That SecretBytes::wipe() clears the bytes
// themselves is tested in tests/pkcs11/secret_bytes_test.cc.
struct WipeLog {
  std::mutex mutex;
  std::vector<std::pair<DekCacheKey, bool>> wiped;  // key, and whether it was empty when seen
  DekCache::WipeObserver observer() {
    return [this](const DekCacheKey& k, const SecretBytes& dek) {
      std::lock_guard lock(mutex);
      wiped.emplace_back(k, dek.empty() && dek.reveal().data() == nullptr);
    };
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return wiped.size();
  }
};

TEST(DekCache, EvictedDekIsWipedWhenItsLastLeaseIsReleased) {
  WipeLog log;
  DekCache cache({.capacity = 1});
  cache.set_wipe_observer(log.observer());
  CountingLoader load;
  {
    auto lease = cache.get(key(1), 0, load.loader());
    ASSERT_TRUE(lease);
    ASSERT_TRUE(cache.get(key(2), 0, load.loader()));  // evicts key 1 while we hold a lease
    EXPECT_EQ(log.count(), 0u) << "never wiped under a caller";
    EXPECT_EQ((*lease)->reveal()[0], 1);
    EXPECT_EQ((*lease)->size(), 32u);
  }
  ASSERT_EQ(log.count(), 1u) << "wiped as soon as the last lease went";
  EXPECT_EQ(log.wiped[0].first, key(1));
  EXPECT_TRUE(log.wiped[0].second) << "the DEK was empty (cleansed and released) before it was freed";
}

TEST(DekCache, ExpiredAndInvalidatedDeksAreWiped) {
  WipeLog log;
  FakeClock clock;
  DekCache cache({.ttl = 10s, .max_uses = 2}, clock.function());
  cache.set_wipe_observer(log.observer());
  CountingLoader load;
  (void)cache.get(key(1), 0, load.loader());
  clock.now += 11s;
  (void)cache.get(key(1), 0, load.loader());  // TTL: the first DEK is evicted, nobody holds it
  EXPECT_EQ(log.count(), 1u);
  (void)cache.get(key(1), 0, load.loader());
  (void)cache.get(key(1), 0, load.loader());  // use limit: the second goes
  EXPECT_EQ(log.count(), 2u);
  cache.invalidate_family("payments");
  EXPECT_EQ(log.count(), 3u);
  for (const auto& [k, empty] : log.wiped) EXPECT_TRUE(empty);
}

TEST(DekCache, ClearAndShutdownWipeEverything) {
  WipeLog log;
  DekCache::Lease survivor;
  {
    DekCache cache;
    cache.set_wipe_observer(log.observer());
    CountingLoader load;
    for (std::uint8_t i = 1; i <= 5; ++i) ASSERT_TRUE(cache.get(key(i), 0, load.loader()));
    cache.clear();
    EXPECT_EQ(log.count(), 5u);
    for (std::uint8_t i = 6; i <= 8; ++i) ASSERT_TRUE(cache.get(key(i), 0, load.loader()));
    survivor = *cache.get(key(8), 0, load.loader());
  }  // the cache is destroyed: two DEKs wiped now, the one still leased when released
  EXPECT_EQ(log.count(), 7u);
  EXPECT_EQ(survivor->size(), 32u) << "a lease outlives the cache";
  survivor.reset();
  EXPECT_EQ(log.count(), 8u);
  for (const auto& [k, empty] : log.wiped) EXPECT_TRUE(empty);
}

TEST(DekCache, FailedLoadsLeaveNothingToWipe) {
  WipeLog log;
  DekCache cache;
  cache.set_wipe_observer(log.observer());
  auto failing = []() -> Result<SecretBytes> { return make_error(ErrorCategory::token, "no"); };
  EXPECT_FALSE(cache.get(key(1), 0, failing));
  cache.clear();
  EXPECT_EQ(log.count(), 0u);
}

}  // namespace
}  // namespace keyward::hierarchy
