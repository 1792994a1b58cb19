// A DEK cache hit next to the token unwrap it saves, measured in the same run on the token named by
// KEYWARD_TOKEN (bench/run.sh makes a project-local SoftHSM token).
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "hierarchy/dek_cache.h"
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

void BM_CacheHit(benchmark::State& state) {
  hierarchy::DekCache cache;
  hierarchy::DekCacheKey key{"payments", 1, {}};
  auto loader = [] { return Result<SecretBytes>(SecretBytes(32)); };
  (void)cache.get(key, 0, loader);
  for (auto _ : state) {
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

BENCHMARK(BM_CacheHit);
BENCHMARK(BM_TokenUnwrap);

}  // namespace

BENCHMARK_MAIN();
