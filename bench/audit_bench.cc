// What the audit log costs, each benchmark without (/0) and with (/1) an audit log in the same run,
// on the token named by KEYWARD_TOKEN with KEK family "bench" at two versions (bench/audit.sh):
//  - BM_FieldEncrypt: one 64-byte field value through the public API (Client + Field), DEK cached —
//    the hot path, where auditing is a per-DEK counter increment;
//  - BM_SmallEnvelope: encrypt then decrypt a 4 KiB buffer as an envelope (a DEK generated and one
//    unwrapped in the token: two records);
//  - BM_RotationBatch: rewrap a batch of 100 DEKs in the token, as a rotation worker does (one record).
// bench/audit.sh runs it three times and prints the ratios.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "audit/log_writer.h"
#include "audit/recorder.h"
#include "audit/token_anchor.h"
#include "hierarchy/key_hierarchy.h"
#include "keyward/keyward.h"
#include "pkcs11/connection.h"
#include "pkcs11/session_pool.h"

namespace {

using namespace keyward;

struct Fixture {
  std::string error;
  std::shared_ptr<p11::Connection> connection;
  std::shared_ptr<p11::SessionPool> pool;
  std::unique_ptr<hierarchy::KeyHierarchy> hierarchy;
  std::shared_ptr<audit::AuditLog> log;
  std::optional<Client> clients[2];  // [audited]: keys loaded while a log is installed count their use
  std::vector<hierarchy::KeyHierarchy::WrappedUnder> batch;
  std::vector<std::vector<std::uint8_t>> wrapped;
  hierarchy::KekRef to;
};

Fixture* made = nullptr;  // destroyed by main() before OpenSSL's atexit clean-up

void open_fixture(Fixture& f) {
  const char* text = std::getenv("KEYWARD_TOKEN");
  auto uri = p11::TokenUri::parse(text ? text : "");
  if (!uri) return void(f.error = uri.error().message);
  auto connection = p11::Connection::open(*uri);
  if (!connection) return void(f.error = connection.error().message);
  f.connection = *connection;
  f.pool = std::make_shared<p11::SessionPool>(f.connection);
  f.hierarchy = std::make_unique<hierarchy::KeyHierarchy>(f.pool);
  auto latest = f.hierarchy->latest_kek_version("bench");
  if (!latest || *latest < 2) return void(f.error = "KEK family 'bench' needs two versions");
  f.to = {"bench", *latest};
  for (int i = 0; i < 100; ++i) {
    auto dek = f.hierarchy->generate_dek({"bench", *latest - 1});
    if (!dek) return void(f.error = dek.error().message);
    f.wrapped.push_back(dek->wrapped);
  }
  for (const auto& w : f.wrapped) f.batch.push_back({*latest - 1, w});
  auto anchor = audit::TokenAnchor::open(f.connection, true);
  if (!anchor) return void(f.error = anchor.error().message);
  const char* dir = std::getenv("TMPDIR");
  const std::string base = std::string(dir ? dir : "/tmp") + "/keyward-audit-bench-" + std::to_string(::getpid());
  auto log = audit::AuditLog::open(base + ".jsonl", *anchor);
  if (!log) return void(f.error = log.error().message);
  f.log = *log;
  for (int audited = 0; audited < 2; ++audited) {
    if (audited) audit::install(f.log);
    ClientOptions options;
    options.catalog = base + "-" + std::to_string(audited) + ".db";
    auto client = Client::open(options);
    if (!client) return void(f.error = client.error().message);
    f.clients[audited].emplace(std::move(*client));
    audit::install(nullptr);
  }
}

Fixture& fixture() {
  if (made == nullptr) {
    made = new Fixture;
    open_fixture(*made);
  }
  return *made;
}

// Installs the log for the benchmark's run when its argument is 1.
struct AuditedRun {
  explicit AuditedRun(bool on) { audit::install(on ? fixture().log : nullptr); }
  ~AuditedRun() { audit::install(nullptr); }
};

void BM_FieldEncrypt(benchmark::State& state) {
  auto& f = fixture();
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  const bool audited = state.range(0) == 1;
  AuditedRun run(audited);
  FieldOptions options;
  options.scope = "bench-scope";
  options.kek_family = "bench";
  auto field = f.clients[audited]->field(options);
  if (!field) return state.SkipWithError(field.error().message.c_str());
  const std::vector<std::uint8_t> value(64, 'v');
  for (auto _ : state) {
    auto text = field->encrypt(value);
    benchmark::DoNotOptimize(text);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FieldEncrypt)->Arg(0)->Arg(1)->MinTime(1.0);

void BM_SmallEnvelope(benchmark::State& state) {
  auto& f = fixture();
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  const bool audited = state.range(0) == 1;
  AuditedRun run(audited);
  const std::vector<std::uint8_t> plain(4096, 'p');
  for (auto _ : state) {
    auto sealed = f.clients[audited]->encrypt_buffer("bench", plain);
    if (!sealed) return state.SkipWithError(sealed.error().message.c_str());
    auto opened = f.clients[audited]->decrypt_buffer(*sealed);
    if (!opened) return state.SkipWithError(opened.error().message.c_str());
    benchmark::DoNotOptimize(opened);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SmallEnvelope)->Arg(0)->Arg(1)->MinTime(1.0);

void BM_RotationBatch(benchmark::State& state) {
  auto& f = fixture();
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  AuditedRun run(state.range(0) == 1);
  for (auto _ : state) {
    auto rewrapped = f.hierarchy->rewrap_deks_in_token(f.batch, f.to);
    if (!rewrapped) return state.SkipWithError(rewrapped.error().message.c_str());
    benchmark::DoNotOptimize(rewrapped);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(f.batch.size()));
}
BENCHMARK(BM_RotationBatch)->Arg(0)->Arg(1)->MinTime(1.0);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (made != nullptr) {
    if (made->log) (void)made->log->close();
    delete made;
  }
  return 0;
}
