// A DEK cache hit next to the token unwrap it saves, measured in the same run on the token named by
// KEYWARD_TOKEN (bench/run.sh makes a project-local SoftHSM token).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>

#include "catalog/dek_cache.h"
#include "hierarchy/key_hierarchy.h"
#include "pkcs11/connection.h"

namespace {

using namespace keyward;

struct TokenFixture {
  std::shared_ptr<p11::SessionPool> pool;
  std::unique_ptr<hierarchy::KeyHierarchy> hierarchy;
  hierarchy::KekRef kek;
  hierarchy::NewDek dek;
  std::string error;
};

TokenFixture& fixture() {
  static TokenFixture f = [] {
    TokenFixture made;
    const char* uri_text = std::getenv("KEYWARD_TOKEN");
    auto uri = p11::TokenUri::parse(uri_text ? uri_text : "");
    if (!uri) return made.error = uri.error().message, std::move(made);
    auto connection = p11::Connection::open(*uri);
    if (!connection) return made.error = connection.error().message, std::move(made);
    made.pool = std::make_shared<p11::SessionPool>(*connection);
    made.hierarchy = std::make_unique<hierarchy::KeyHierarchy>(made.pool);
    auto keks = made.hierarchy->list_keks();
    if (!keks || keks->empty()) return made.error = "the token has no KEK (run the ceremony first)", std::move(made);
    made.kek = keks->front().ref;
    auto dek = made.hierarchy->generate_dek(made.kek);
    if (!dek) return made.error = dek.error().message, std::move(made);
    made.dek = std::move(*dek);
    return made;
  }();
  return f;
}

// A hit: the path every encrypt/decrypt with a warm cache takes. One shared cache across threads
// (Threads(2) shows the cost of the single mutex under contention).
hierarchy::DekCache& shared_cache() {
  static hierarchy::DekCache cache;
  return cache;
}

void BM_CacheHit(benchmark::State& state) {
  auto& cache = shared_cache();
  hierarchy::DekCacheKey key{"payments", 1, {}};
  key.dek_id[0] = static_cast<std::uint8_t>(state.thread_index());
  auto loader = [] { return Result<SecretBytes>(SecretBytes(32)); };
  (void)cache.get(key, 0, loader);
  for (auto _ : state) {
    auto lease = cache.get(key, 64, loader);
    benchmark::DoNotOptimize(lease);
  }
}

// A miss with a stub loader (no token): the cache's own miss cost — flight bookkeeping, lease and
// entry allocation, and an LRU eviction, since every key is new and the cache is full.
void BM_CacheMissStubLoader(benchmark::State& state) {
  hierarchy::DekCache cache({.capacity = 1024});
  hierarchy::DekCacheKey key{"payments", 1, {}};
  auto loader = [] { return Result<SecretBytes>(SecretBytes(32)); };
  std::uint64_t n = 0;
  for (auto _ : state) {
    ++n;
    std::memcpy(key.dek_id.data(), &n, sizeof n);
    auto lease = cache.get(key, 64, loader);
    benchmark::DoNotOptimize(lease);
  }
}

void BM_TokenUnwrap(benchmark::State& state) {
  auto& f = fixture();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  for (auto _ : state) {
    auto dek = f.hierarchy->unwrap_dek_for_cpu(f.kek, f.dek.wrapped);
    if (!dek) state.SkipWithError("unwrap failed");
    benchmark::DoNotOptimize(dek);
  }
}

BENCHMARK(BM_CacheHit)->Threads(1)->Threads(2);
BENCHMARK(BM_CacheMissStubLoader);
BENCHMARK(BM_TokenUnwrap);

}  // namespace

BENCHMARK_MAIN();
