// Field values of 64 bytes through the C ABI (kw_field_encrypt/decrypt, one value per call, and the
// batch calls) next to the C++ API (keyward::Field) in the same binary and run, both through
// libkeyward.so as an application links it. One scope, DEK cached; each benchmark is registered
// twice, C++ and C interleaved, so that a change of load shows as a difference between the pairs.
//
// On the token named by KEYWARD_TOKEN holding KEK family "bench" (bench/run.sh makes one).
//   c_abi_bench [--benchmark_...]
#include <benchmark/benchmark.h>
#include <keyward/keyward.h>
#include <keyward/keyward_c.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

constexpr std::size_t kValueBytes = 64;
constexpr std::size_t kBatch = 1000;
constexpr const char* kScope = "tenant:bench/table:users/column:email";
const char* const kContext[] = {"table", "users", "column", "email", nullptr};

// Both clients open on their own catalog files; removed at exit.
struct Clients {
  std::string cpp_catalog;
  std::string c_catalog;
  std::optional<keyward::Client> cpp;
  std::optional<keyward::Field> field;
  kw_client* c = nullptr;
  std::string error;

  Clients() {
    const char* dir = std::getenv("TMPDIR");
    const std::string base = std::string(dir ? dir : "/tmp") + "/keyward-c-abi-bench-" + std::to_string(::getpid());
    cpp_catalog = base + "-cpp.db";
    c_catalog = base + "-c.db";
    keyward::ClientOptions options;
    options.catalog = cpp_catalog;
    auto client = keyward::Client::open(options);
    if (!client) {
      error = client.error().message;
      return;
    }
    cpp.emplace(std::move(*client));
    auto made = cpp->field({.scope = kScope, .kek_family = "bench", .context = {{"table", "users"}, {"column", "email"}}});
    if (!made) {
      error = made.error().message;
      return;
    }
    field.emplace(std::move(*made));
    if (kw_open(nullptr, c_catalog.c_str(), &c) != KW_OK) error = kw_last_error();
  }
  ~Clients() {
    kw_close(c);
    field.reset();
    cpp.reset();
    for (const auto& path : {cpp_catalog, c_catalog})
      for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  }
};

// Made on first use, destroyed by main() (not at static destruction, after OpenSSL's clean-up).
Clients* clients = nullptr;

Clients& opened() {
  if (clients == nullptr) clients = new Clients;
  return *clients;
}

const std::vector<std::uint8_t>& value() {
  static const std::vector<std::uint8_t> v(kValueBytes, 'x');
  return v;
}

void BM_CppFieldEncrypt(benchmark::State& state) {
  auto& k = opened();
  if (!k.error.empty()) return state.SkipWithError(k.error.c_str());
  for (auto _ : state) {
    auto text = k.field->encrypt(value());
    if (!text) return state.SkipWithError(text.error().message.c_str());
    benchmark::DoNotOptimize(text->data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CppFieldDecrypt(benchmark::State& state) {
  auto& k = opened();
  if (!k.error.empty()) return state.SkipWithError(k.error.c_str());
  auto text = k.field->encrypt(value());
  if (!text) return state.SkipWithError(text.error().message.c_str());
  for (auto _ : state) {
    auto plain = k.field->decrypt(*text);
    if (!plain) return state.SkipWithError(plain.error().message.c_str());
    benchmark::DoNotOptimize(plain->value.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CAbiFieldEncrypt(benchmark::State& state) {
  auto& k = opened();
  if (!k.error.empty()) return state.SkipWithError(k.error.c_str());
  for (auto _ : state) {
    char* text = nullptr;
    if (kw_field_encrypt(k.c, kScope, "bench", 0, value().data(), value().size(), kContext, &text) != KW_OK)
      return state.SkipWithError(kw_last_error());
    benchmark::DoNotOptimize(text);
    kw_free(text);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CAbiFieldDecrypt(benchmark::State& state) {
  auto& k = opened();
  if (!k.error.empty()) return state.SkipWithError(k.error.c_str());
  char* text = nullptr;
  if (kw_field_encrypt(k.c, kScope, "bench", 0, value().data(), value().size(), kContext, &text) != KW_OK)
    return state.SkipWithError(kw_last_error());
  for (auto _ : state) {
    unsigned char* plain = nullptr;
    size_t length = 0;
    if (kw_field_decrypt(k.c, text, kScope, kContext, &plain, &length) != KW_OK)
      return state.SkipWithError(kw_last_error());
    benchmark::DoNotOptimize(plain);
    kw_free(plain);
  }
  kw_free(text);
  state.SetItemsProcessed(state.iterations());
}

void BM_CAbiFieldEncryptBatch(benchmark::State& state) {
  auto& k = opened();
  if (!k.error.empty()) return state.SkipWithError(k.error.c_str());
  std::vector<std::uint8_t> values;
  for (std::size_t i = 0; i < kBatch; ++i) values.insert(values.end(), value().begin(), value().end());
  const std::vector<size_t> lengths(kBatch, kValueBytes);
  for (auto _ : state) {
    char* texts = nullptr;
    size_t size = 0;
    if (kw_field_encrypt_batch(k.c, kScope, "bench", 0, values.data(), lengths.data(), kBatch, kContext, &texts,
                               &size) != KW_OK)
      return state.SkipWithError(kw_last_error());
    benchmark::DoNotOptimize(texts);
    kw_free(texts);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<benchmark::IterationCount>(kBatch));
}

void BM_CAbiFieldDecryptBatch(benchmark::State& state) {
  auto& k = opened();
  if (!k.error.empty()) return state.SkipWithError(k.error.c_str());
  std::vector<std::uint8_t> values;
  for (std::size_t i = 0; i < kBatch; ++i) values.insert(values.end(), value().begin(), value().end());
  const std::vector<size_t> lengths(kBatch, kValueBytes);
  char* texts = nullptr;
  size_t size = 0;
  if (kw_field_encrypt_batch(k.c, kScope, "bench", 0, values.data(), lengths.data(), kBatch, kContext, &texts, &size) !=
      KW_OK)
    return state.SkipWithError(kw_last_error());
  std::vector<size_t> out_lengths(kBatch);
  for (auto _ : state) {
    unsigned char* plain = nullptr;
    if (kw_field_decrypt_batch(k.c, texts, size, kBatch, kScope, kContext, &plain, out_lengths.data()) != KW_OK)
      return state.SkipWithError(kw_last_error());
    benchmark::DoNotOptimize(plain);
    kw_free(plain);
  }
  kw_free(texts);
  state.SetItemsProcessed(state.iterations() * static_cast<benchmark::IterationCount>(kBatch));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // KEYWARD_BENCH_ITERATIONS=N: exactly N iterations each (for instruction counts under callgrind,
  // which do not depend on the machine's load).
  const char* fixed = std::getenv("KEYWARD_BENCH_ITERATIONS");
  for (int round = 0; round < 2; ++round) {
    for (auto* registered : {benchmark::RegisterBenchmark("BM_CppFieldEncrypt", BM_CppFieldEncrypt),
                             benchmark::RegisterBenchmark("BM_CAbiFieldEncrypt", BM_CAbiFieldEncrypt),
                             benchmark::RegisterBenchmark("BM_CAbiFieldEncryptBatch", BM_CAbiFieldEncryptBatch),
                             benchmark::RegisterBenchmark("BM_CppFieldDecrypt", BM_CppFieldDecrypt),
                             benchmark::RegisterBenchmark("BM_CAbiFieldDecrypt", BM_CAbiFieldDecrypt),
                             benchmark::RegisterBenchmark("BM_CAbiFieldDecryptBatch", BM_CAbiFieldDecryptBatch)})
      if (fixed != nullptr) registered->Iterations(static_cast<benchmark::IterationCount>(std::strtoull(fixed, nullptr, 10)));
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  delete clients;
  return 0;
}
