#include "hierarchy/dek_cache.h"

#include <gtest/gtest.h>

#include <atomic>
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

// A loader that counts its calls and returns a DEK filled with `fill`.
struct CountingLoader {
  std::atomic<int> calls{0};
  std::uint8_t fill = 7;
  DekCache::Loader loader() {
    return [this]() -> Result<SecretBytes> {
      ++calls;
      SecretBytes dek(32);
      std::fill(dek.reveal_mutable().begin(), dek.reveal_mutable().end(), fill);
      return dek;
    };
  }
};

TEST(DekCache, HitAfterMissCallsTheLoaderOnce) {
  DekCache cache;
  CountingLoader load;
  auto a = cache.get(key(1), 10, load.loader());
  auto b = cache.get(key(1), 10, load.loader());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ(load.calls, 1);
  EXPECT_EQ(cache.stats().hits, 1u);
}

TEST(DekCache, AbsoluteTtlExpires) {
  FakeClock clock;
  DekCache cache({.ttl = 10s, .idle = 1h}, clock.function());
  CountingLoader load;
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  clock.now += 5s;
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  clock.now += 6s;  // 11 s since the load, though used 6 s ago
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  EXPECT_EQ(load.calls, 2);
}

TEST(DekCache, IdleTimeoutExpires) {
  FakeClock clock;
  DekCache cache({.ttl = 1h, .idle = 10s}, clock.function());
  CountingLoader load;
  ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  for (int i = 0; i < 5; ++i) {
    clock.now += 9s;  // kept alive by use
    ASSERT_TRUE(cache.get(key(1), 0, load.loader()));
  }
  EXPECT_EQ(load.calls, 1);
  clock.now += 11s;
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
}

TEST(DekCache, UseAndByteLimitsForceAReload) {
  DekCache uses({.max_uses = 3});
  CountingLoader load;
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(uses.get(key(1), 0, load.loader()));
  EXPECT_EQ(load.calls, 3);  // uses 1-3, 4-6, 7
  DekCache bytes({.max_bytes = 100});
  CountingLoader load2;
  ASSERT_TRUE(bytes.get(key(1), 60, load2.loader()));
  ASSERT_TRUE(bytes.get(key(1), 40, load2.loader()));  // exactly 100
  EXPECT_EQ(load2.calls, 1);
  ASSERT_TRUE(bytes.get(key(1), 1, load2.loader()));
  EXPECT_EQ(load2.calls, 2);
}

TEST(DekCache, KeysSeparateVersionsAndInvalidationWorks) {
  DekCache cache;
  CountingLoader load;
  ASSERT_TRUE(cache.get(key(1, 1), 0, load.loader()));
  ASSERT_TRUE(cache.get(key(1, 2), 0, load.loader()));
  ASSERT_TRUE(cache.get(key(2, 1, "hr"), 0, load.loader()));
  EXPECT_EQ(load.calls, 3) << "a KEK version is part of the key: no stale DEK across a rotation";
  cache.invalidate_version("payments", 1);
  EXPECT_EQ(cache.size(), 2u);
  cache.invalidate_family("hr");
  EXPECT_EQ(cache.size(), 1u);
  envelope::DekId id{};
  id[0] = 1;
  cache.invalidate_dek(id);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DekCache, SingleFlightUnderSixteenThreads) {
  DekCache cache;
  std::atomic<int> loads{0};
  std::atomic<bool> go{false};
  auto slow_loader = [&]() -> Result<SecretBytes> {
    ++loads;
    std::this_thread::sleep_for(50ms);  // a token unwrap takes time: everyone else must wait, not load
    return SecretBytes(32);
  };
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&] {
      while (!go) std::this_thread::yield();
      if (cache.get(key(9), 1, slow_loader)) ++ok;
    });
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(ok, 16);
}

TEST(DekCache, FailedLoadReachesAllWaitersAndIsNotCached) {
  DekCache cache;
  std::atomic<int> loads{0};
  std::atomic<bool> go{false};
  auto failing = [&]() -> Result<SecretBytes> {
    ++loads;
    std::this_thread::sleep_for(30ms);
    return make_error(ErrorCategory::token, "C_UnwrapKey: CKR_DEVICE_ERROR");
  };
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      while (!go) std::this_thread::yield();
      auto lease = cache.get(key(4), 0, failing);
      if (!lease && lease.error().message.find("CKR_DEVICE_ERROR") != std::string::npos) ++errors;
    });
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors, 8);
  EXPECT_EQ(cache.size(), 0u);
  CountingLoader load;
  ASSERT_TRUE(cache.get(key(4), 0, load.loader()));
  EXPECT_EQ(load.calls, 1);
}

TEST(DekCache, EvictedDeksAreDestroyedWhenTheLastLeaseGoes) {
  DekCache cache({.capacity = 1});
  CountingLoader load;
  std::weak_ptr<const SecretBytes> first;
  {
    auto lease = cache.get(key(1), 0, load.loader());
    ASSERT_TRUE(lease);
    first = *lease;
    ASSERT_TRUE(cache.get(key(2), 0, load.loader()));  // evicts key 1 while we hold a lease
    EXPECT_FALSE(first.expired()) << "a lease in use stays valid";
    EXPECT_EQ((*lease)->reveal()[0], 7);
  }
  // No one holds it now: the SecretBytes was destroyed, and SecretBytes clears its storage
  // (OPENSSL_cleanse) on destruction (tests/pkcs11/secret_bytes_test.cc).
  EXPECT_TRUE(first.expired());
  std::weak_ptr<const SecretBytes> second;
  {
    auto lease = cache.get(key(2), 0, load.loader());
    second = *lease;
  }
  cache.clear();
  EXPECT_TRUE(second.expired()) << "clear() (and destruction) drops every DEK";
}

}  // namespace
}  // namespace keyward::hierarchy
