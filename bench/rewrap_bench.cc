// Rewrap costs on the token named by KEYWARD_TOKEN (bench/rotation.sh sets one up with KEK family
// "bench" at two versions):
//  - BM_RawTokenFloor: the bare PKCS#11 loop unwrap + wrap + destroy (Session calls) on one session,
//    handles looked up once — the floor a rotation worker is compared with;
//  - BM_RewrapInToken: KeyHierarchy::rewrap_dek_in_token (pool, handle cache, policy templates);
//  - BM_RawSessionKekFloor: the bare loop again, with the session copies of the KEKs;
//  - BM_RewrapWithSessionKekCopies: the same with session copies of the KEKs, as rotation workers do
//    (SoftHSM touches a token object's file on every use; a session object costs nothing of that);
//  - BM_EnvelopeKeySectionRewrap: rewrapping the key section of a 10 GiB (sparse) envelope in place.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "envelope/key_slots.h"
#include "envelope/stream.h"
#include "hierarchy/envelope_keys.h"
#include "hierarchy/key_hierarchy.h"
#include "hierarchy/labels.h"
#include "hierarchy/policy.h"
#include "pkcs11/connection.h"
#include "pkcs11/key_handle_cache.h"
#include "pkcs11/scoped_object.h"

namespace {

using namespace keyward;

struct Fixture {
  std::shared_ptr<p11::Connection> connection;
  std::shared_ptr<p11::SessionPool> pool;
  std::unique_ptr<hierarchy::KeyHierarchy> hierarchy;
  std::shared_ptr<p11::SessionPool> single_session_pool;
  std::unique_ptr<hierarchy::KeyHierarchy> with_session_keks;
  hierarchy::KekRef from, to;
  std::vector<std::uint8_t> wrapped;
  std::string error;
};

Fixture& fixture() {
  static Fixture f = [] {
    Fixture made;
    const char* text = std::getenv("KEYWARD_TOKEN");
    auto uri = p11::TokenUri::parse(text ? text : "");
    if (!uri) return made.error = uri.error().message, std::move(made);
    auto connection = p11::Connection::open(*uri);
    if (!connection) return made.error = connection.error().message, std::move(made);
    made.connection = *connection;
    made.pool = std::make_shared<p11::SessionPool>(made.connection);
    made.hierarchy = std::make_unique<hierarchy::KeyHierarchy>(made.pool);
    made.single_session_pool = std::make_shared<p11::SessionPool>(made.connection, p11::SessionPoolOptions{.max_sessions = 1});
    made.with_session_keks = std::make_unique<hierarchy::KeyHierarchy>(
        made.single_session_pool, hierarchy::HierarchyOptions{.session_kek_copies_for_rewrap = true});
    auto latest = made.hierarchy->latest_kek_version("bench");
    if (!latest || *latest < 2) return made.error = "KEK family 'bench' needs two versions", std::move(made);
    made.from = {"bench", *latest - 1};
    made.to = {"bench", *latest};
    auto dek = made.hierarchy->generate_dek(made.from);
    if (!dek) return made.error = dek.error().message, std::move(made);
    made.wrapped = dek->wrapped;
    return made;
  }();
  return f;
}

void BM_RawTokenFloor(benchmark::State& state) {
  auto& f = fixture();
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  auto session = f.connection->open_session();
  auto from = p11::find_unique_object(*session, f.from.label(), CKO_SECRET_KEY);
  auto to = p11::find_unique_object(*session, f.to.label(), CKO_SECRET_KEY);
  const auto unwrap_template = hierarchy::policy::dek_unwrap_for_rewrap_template();
  for (auto _ : state) {
    auto dek = session->unwrap_key(p11::aes_key_wrap(), *from, f.wrapped, unwrap_template);
    auto out = session->wrap_key(p11::aes_key_wrap(), *to, *dek);
    (void)session->destroy_object(*dek);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RewrapInToken(benchmark::State& state) {
  auto& f = fixture();
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  for (auto _ : state) {
    auto out = f.hierarchy->rewrap_dek_in_token(f.from, f.to, f.wrapped);
    if (!out) return state.SkipWithError(out.error().message.c_str());
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RawSessionKekFloor(benchmark::State& state) {
  auto& f = fixture();
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  // One rewrap through the hierarchy makes the session copies in the pool's only session; then the
  // bare loop runs in that same session with their handles.
  if (auto warm = f.with_session_keks->rewrap_dek_in_token(f.from, f.to, f.wrapped); !warm)
    return state.SkipWithError(warm.error().message.c_str());
  const auto unwrap_template = hierarchy::policy::dek_unwrap_for_rewrap_template();
  auto ran = f.single_session_pool->run([&](p11::Session& session) -> Status {
    KW_ASSIGN_OR_RETURN(auto from, p11::find_unique_object(session, hierarchy::session_kek_label("bench", f.from.version), CKO_SECRET_KEY));
    KW_ASSIGN_OR_RETURN(auto to, p11::find_unique_object(session, hierarchy::session_kek_label("bench", f.to.version), CKO_SECRET_KEY));
    for (auto _ : state) {
      auto dek = session.unwrap_key(p11::aes_key_wrap(), from, f.wrapped, unwrap_template);
      auto out = session.wrap_key(p11::aes_key_wrap(), to, *dek);
      (void)session.destroy_object(*dek);
      benchmark::DoNotOptimize(out);
    }
    return {};
  });
  if (!ran) return state.SkipWithError(ran.error().message.c_str());
  state.SetItemsProcessed(state.iterations());
}

void BM_RewrapWithSessionKekCopies(benchmark::State& state) {
  auto& f = fixture();
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  for (auto _ : state) {
    auto out = f.with_session_keks->rewrap_dek_in_token(f.from, f.to, f.wrapped);
    if (!out) return state.SkipWithError(out.error().message.c_str());
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_EnvelopeKeySectionRewrap(benchmark::State& state) {
  auto& f = fixture();
  if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
  // A real envelope header and key section, then a sparse 10 GiB tail: the rewrap reads and writes
  // only the key area, so the body's content does not matter for its cost.
  const std::string path = "/tmp/keyward-rewrap-bench.kw";
  auto key = hierarchy::new_data_key(*f.hierarchy, "bench");
  int in = ::open("/dev/null", O_RDONLY);
  int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  (void)envelope::encrypt_stream(in, out, *key, {}, {});
  ::close(in);
  (void)!::ftruncate(out, off_t{10} << 30);
  ::close(out);
  std::uint32_t target = f.from.version;
  for (auto _ : state) {
    target = target == f.to.version ? f.from.version : f.to.version;  // alternate so each call rewraps
    auto done = hierarchy::rewrap_envelope_key_section(*f.hierarchy, path, hierarchy::KekRef{"bench", target});
    if (!done) return state.SkipWithError(done.error().message.c_str());
  }
  ::unlink(path.c_str());
}

BENCHMARK(BM_RawTokenFloor);
BENCHMARK(BM_RewrapInToken);
BENCHMARK(BM_RawSessionKekFloor);
BENCHMARK(BM_RewrapWithSessionKekCopies);
BENCHMARK(BM_EnvelopeKeySectionRewrap)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
