// Field values of 64 bytes through the public API (keyward::Client and Field, as an app calls them)
// and through KeyService (what Field wraps), DEKs cached, next to a raw EVP AES-256-GCM 64-byte seal
// in the same binary and run.
//
// On the token named by KEYWARD_TOKEN (bench/run.sh makes one with KEK "bench"): every benchmark
// runs first while the token holds 1 KEK family, then again after the bench has created 49 more
// ("families:50", values spread over 50 scopes, one per family), so the two can be compared.
//   field_bench [--benchmark_...]
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include "catalog/sqlite_catalog.h"
#include "keyward/internal/key_service.h"
#include "keyward/keyward.h"
#include "pkcs11/connection.h"

namespace {

using namespace keyward;
using hierarchy::KeyService;

constexpr std::size_t kValueBytes = 64;

struct Fixture {
  std::shared_ptr<p11::SessionPool> pool;
  std::unique_ptr<hierarchy::KeyHierarchy> hierarchy;
  std::string catalog_path;
  std::unique_ptr<hierarchy::SqliteCatalog> catalog;
  std::unique_ptr<hierarchy::DekCache> cache;
  std::unique_ptr<KeyService> service;
  std::vector<std::string> families;  // "bench" first
  std::optional<keyward::Client> client;  // the public API, on its own catalog file
  std::string client_catalog_path;
  std::string error;
  ~Fixture() {
    service.reset();
    catalog.reset();
    client.reset();
    for (const auto& path : {catalog_path, client_catalog_path})
      for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  }
};

void open_fixture(Fixture& f) {
  const char* uri_text = std::getenv("KEYWARD_TOKEN");
  auto uri = p11::TokenUri::parse(uri_text ? uri_text : "");
  if (!uri) return void(f.error = uri.error().message);
  auto connection = p11::Connection::open(*uri);
  if (!connection) return void(f.error = connection.error().message);
  f.pool = std::make_shared<p11::SessionPool>(*connection);
  f.hierarchy = std::make_unique<hierarchy::KeyHierarchy>(f.pool);
  const char* dir = std::getenv("TMPDIR");
  f.catalog_path = std::string(dir ? dir : "/tmp") + "/keyward-field-bench-" + std::to_string(::getpid()) + ".db";
  auto catalog = hierarchy::SqliteCatalog::open(f.catalog_path);
  if (!catalog) return void(f.error = catalog.error().message);
  f.catalog = std::move(*catalog);
  f.cache = std::make_unique<hierarchy::DekCache>();
  f.service = std::make_unique<KeyService>(*f.hierarchy, *f.catalog, *f.cache);
  f.families.push_back("bench");
  keyward::ClientOptions options;  // the token from KEYWARD_TOKEN, as an app's
  f.client_catalog_path = f.catalog_path + ".client";
  options.catalog = f.client_catalog_path;
  auto client = keyward::Client::open(options);
  if (!client) return void(f.error = client.error().message);
  f.client.emplace(std::move(*client));
}

// Made on first use, destroyed by main() before exit: as a function-local static it would outlive
// OpenSSL's own atexit clean-up (registered while it was being opened) and crash freeing contexts.
Fixture* made_fixture = nullptr;

Fixture& fixture() {
  if (made_fixture == nullptr) {
    made_fixture = new Fixture;
    open_fixture(*made_fixture);
  }
  return *made_fixture;
}

// Makes the token hold `count` KEK families (creating them once; "bench" exists already).
bool ensure_families(Fixture& f, std::size_t count) {
  auto keks = f.hierarchy->list_keks();
  if (!keks) return f.error = keks.error().message, false;
  for (std::size_t i = f.families.size(); i < count; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "benchfam%02zu", i);
    bool present = false;
    for (const auto& kek : *keks) present = present || kek.ref.family == name;
    if (!present) {
      auto made = f.hierarchy->create_kek(name);
      if (!made) return f.error = made.error().message, false;
    }
    f.families.push_back(name);
  }
  return true;
}

const envelope::EncodedContext& context() {
  static const envelope::EncodedContext c(envelope::EncryptionContext{{"table", "users"}, {"column", "email"}});
  return c;
}

std::string scope_of(std::size_t family) { return "tenant:" + std::to_string(family) + "/table:users/column:email"; }

// Values spread round-robin over one scope per family: every family's DEK is in use.
std::vector<std::string> prepared_values(Fixture& f, std::size_t families, envelope::FieldSuite suite) {
  std::vector<std::string> values;
  std::vector<std::uint8_t> value(kValueBytes, 'x');
  for (std::size_t i = 0; i < 1024; ++i) {
    const std::size_t family = i % families;
    auto text = f.service->encrypt_field(scope_of(family), f.families[family], value, suite, context());
    if (!text) return {};
    values.push_back(std::move(*text));
  }
  return values;
}

void BM_KeyServiceEncrypt(benchmark::State& state, envelope::FieldSuite suite, std::size_t families) {
  auto& f = fixture();
  if (!f.error.empty() || !ensure_families(f, families)) return state.SkipWithError(f.error.c_str());
  std::vector<std::string> scopes;
  for (std::size_t i = 0; i < families; ++i) scopes.push_back(scope_of(i));
  std::vector<std::uint8_t> value(kValueBytes, 'x');
  if (prepared_values(f, families, suite).empty()) return state.SkipWithError("could not encrypt");
  std::size_t i = 0;
  for (auto _ : state) {
    const std::size_t family = i++ % families;
    auto text = f.service->encrypt_field(scopes[family], f.families[family], value, suite, context());
    if (!text) return state.SkipWithError(text.error().message.c_str());
    benchmark::DoNotOptimize(text->data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_KeyServiceDecrypt(benchmark::State& state, envelope::FieldSuite suite, std::size_t families) {
  auto& f = fixture();
  if (!f.error.empty() || !ensure_families(f, families)) return state.SkipWithError(f.error.c_str());
  const auto values = prepared_values(f, families, suite);
  if (values.empty()) return state.SkipWithError("could not encrypt");
  std::size_t i = 0;
  for (auto _ : state) {  // text in, plaintext out: parsing, the scope check and the key lookup included
    const std::size_t n = i++ % values.size();
    auto plain = f.service->decrypt_field(values[n], std::nullopt, context());
    if (!plain) return state.SkipWithError(plain.error().message.c_str());
    benchmark::DoNotOptimize(plain->reveal().data());
  }
  state.SetItemsProcessed(state.iterations());
}

// With the expected scope checked, as a multi-tenant app reads its rows.
void BM_KeyServiceDecryptExpectedScope(benchmark::State& state, std::size_t families) {
  auto& f = fixture();
  if (!f.error.empty() || !ensure_families(f, families)) return state.SkipWithError(f.error.c_str());
  const auto values = prepared_values(f, families, envelope::FieldSuite::randomized);
  if (values.empty()) return state.SkipWithError("could not encrypt");
  std::vector<std::string> scopes;
  for (std::size_t i = 0; i < families; ++i) scopes.push_back(scope_of(i));
  std::size_t i = 0;
  for (auto _ : state) {
    const std::size_t n = i++ % values.size();
    auto plain = f.service->decrypt_field(values[n], scopes[n % families], context());
    if (!plain) return state.SkipWithError(plain.error().message.c_str());
    benchmark::DoNotOptimize(plain->reveal().data());
  }
  state.SetItemsProcessed(state.iterations());
}

// The same through keyward::Client: one Field per scope (made once, as an app keeps its column
// ciphers), text in and out as an app sees them.
std::vector<keyward::Field> client_fields(Fixture& f, std::size_t families, keyward::FieldMode mode) {
  std::vector<keyward::Field> fields;
  for (std::size_t i = 0; i < families; ++i) {
    auto field = f.client->field({.scope = scope_of(i), .kek_family = f.families[i], .mode = mode,
                                  .context = {{"table", "users"}, {"column", "email"}}});
    if (!field) return {};
    fields.push_back(std::move(*field));
  }
  return fields;
}

void BM_ClientFieldEncrypt(benchmark::State& state, keyward::FieldMode mode, std::size_t families) {
  auto& f = fixture();
  if (!f.error.empty() || !ensure_families(f, families)) return state.SkipWithError(f.error.c_str());
  const auto fields = client_fields(f, families, mode);
  if (fields.empty()) return state.SkipWithError("could not make the fields");
  const std::vector<std::uint8_t> value(kValueBytes, 'x');
  for (const auto& field : fields)
    if (!field.encrypt(value)) return state.SkipWithError("could not encrypt");  // each scope's DEK made once
  std::size_t i = 0;
  for (auto _ : state) {
    auto text = fields[i++ % families].encrypt(value);
    if (!text) return state.SkipWithError(text.error().message.c_str());
    benchmark::DoNotOptimize(text->data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ClientFieldDecrypt(benchmark::State& state, keyward::FieldMode mode, std::size_t families) {
  auto& f = fixture();
  if (!f.error.empty() || !ensure_families(f, families)) return state.SkipWithError(f.error.c_str());
  const auto fields = client_fields(f, families, mode);
  if (fields.empty()) return state.SkipWithError("could not make the fields");
  const std::vector<std::uint8_t> value(kValueBytes, 'x');
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < 1024; ++i) {
    auto text = fields[i % families].encrypt(value);
    if (!text) return state.SkipWithError(text.error().message.c_str());
    texts.push_back(std::move(*text));
  }
  std::size_t i = 0;
  for (auto _ : state) {  // each value read through its own scope's Field: the scope check included
    const std::size_t n = i++ % texts.size();
    auto plain = fields[n % families].decrypt(texts[n]);
    if (!plain) return state.SkipWithError(plain.error().message.c_str());
    benchmark::DoNotOptimize(plain->value.data());
  }
  state.SetItemsProcessed(state.iterations());
}

// The reference: one AES-256-GCM seal of 64 bytes with 40 bytes of AAD on a context keyed once,
// the nonce a counter (what `openssl speed -aead` does per op).
void BM_RawEvpGcm64(benchmark::State& state) {
  std::uint8_t key[32];
  RAND_bytes(key, sizeof key);
  EVP_CIPHER* gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex2(ctx, gcm, key, nullptr, nullptr);
  std::vector<std::uint8_t> plain(kValueBytes, 'x'), out(kValueBytes + 16), iv(12), aad(40, 1);
  std::uint64_t counter = 0;
  int length = 0;
  for (auto _ : state) {
    ++counter;
    std::memcpy(iv.data(), &counter, sizeof counter);
    EVP_EncryptInit_ex2(ctx, nullptr, nullptr, iv.data(), nullptr);
    EVP_EncryptUpdate(ctx, nullptr, &length, aad.data(), static_cast<int>(aad.size()));
    EVP_EncryptUpdate(ctx, out.data(), &length, plain.data(), static_cast<int>(plain.size()));
    EVP_EncryptFinal_ex(ctx, out.data() + length, &length);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + kValueBytes);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(gcm);
  OPENSSL_cleanse(key, sizeof key);
}

}  // namespace

std::vector<benchmark::internal::Benchmark*>& registered_benchmarks() {
  static std::vector<benchmark::internal::Benchmark*> all;
  return all;
}

template <class... Args>
void add(const std::string& name, Args&&... args) {
  registered_benchmarks().push_back(benchmark::RegisterBenchmark(name.c_str(), std::forward<Args>(args)...));
}

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  using envelope::FieldSuite;
  add("BM_RawEvpGcm64", BM_RawEvpGcm64);
  // Every benchmark with 1 family first, while the token holds only "bench"; then with 50.
  for (std::size_t families : {std::size_t{1}, std::size_t{50}}) {
    const std::string tail = "/families:" + std::to_string(families);
    add("BM_ClientFieldEncrypt/randomized" + tail, BM_ClientFieldEncrypt, keyward::FieldMode::randomized, families);
    add("BM_ClientFieldDecrypt/randomized" + tail, BM_ClientFieldDecrypt, keyward::FieldMode::randomized, families);
    add("BM_ClientFieldEncrypt/deterministic" + tail, BM_ClientFieldEncrypt, keyward::FieldMode::deterministic, families);
    add("BM_ClientFieldDecrypt/deterministic" + tail, BM_ClientFieldDecrypt, keyward::FieldMode::deterministic, families);
    add("BM_KeyServiceEncrypt/randomized" + tail, BM_KeyServiceEncrypt, FieldSuite::randomized, families);
    add("BM_KeyServiceDecrypt/randomized" + tail, BM_KeyServiceDecrypt, FieldSuite::randomized, families);
    add("BM_KeyServiceDecryptExpectedScope/randomized" + tail, BM_KeyServiceDecryptExpectedScope, families);
    add("BM_KeyServiceEncrypt/deterministic" + tail, BM_KeyServiceEncrypt, FieldSuite::deterministic, families);
    add("BM_KeyServiceDecrypt/deterministic" + tail, BM_KeyServiceDecrypt, FieldSuite::deterministic, families);
  }
  add("BM_RawEvpGcm64", BM_RawEvpGcm64);  // again at the end: the load may have changed
  // KEYWARD_BENCH_ITERATIONS=N: exactly N iterations each (for instruction counts under callgrind,
  // which do not depend on the machine's load).
  if (const char* fixed = std::getenv("KEYWARD_BENCH_ITERATIONS")) {
    const auto n = static_cast<benchmark::IterationCount>(std::strtoull(fixed, nullptr, 10));
    for (auto* registered : registered_benchmarks()) registered->Iterations(n);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  delete made_fixture;
  return 0;
}
