// KeyService's in-memory keys (issue 10): served without catalog reads, dropped at once by a shred in
// this process, a DEK cache invalidation or forget_cached_keys(), seen within the revalidation window
// for a shred by another process, bounded by the DEK cache's limits, and never a way around
// expected_scope.
#include "keyward/internal/key_service.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "catalog/sqlite_catalog.h"
#include "tests/support/hierarchy_fixture.h"

namespace keyward::hierarchy {
namespace {

using namespace std::chrono_literals;

std::string fresh_catalog(const std::string& name) {
  std::string path = keyward::testing::scratch_dir("key_service_cache") + "/" + name + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

// Forwards to a SqliteCatalog and counts the reads KeyService makes per value.
class CountingCatalog : public Catalog {
 public:
  explicit CountingCatalog(std::unique_ptr<SqliteCatalog> inner) : inner_(std::move(inner)) {}
  std::uint64_t reads() const { return reads_.load(); }

  Status create_dek(const DekRecord& r) override { return inner_->create_dek(r); }
  Result<FirstDek> create_first_dek(const DekRecord& r) override { return inner_->create_first_dek(r); }
  Status create_deks(const std::vector<DekRecord>& r) override { return inner_->create_deks(r); }
  Result<std::optional<DekRecord>> find_dek(const envelope::DekId& id) override { return ++reads_, inner_->find_dek(id); }
  Result<std::optional<DekRecord>> active_dek(const std::string& s) override { return ++reads_, inner_->active_dek(s); }
  Result<std::vector<DekRecord>> deks_for_scope(const std::string& s) override { return ++reads_, inner_->deks_for_scope(s); }
  Status set_dek_state(const envelope::DekId& id, DekState s) override { return inner_->set_dek_state(id, s); }
  bool writable() const override { return inner_->writable(); }
  Status set_kek_version(const KekVersionRecord& r) override { return inner_->set_kek_version(r); }
  Result<std::vector<KekVersionRecord>> kek_versions(const std::string& f) override { return ++reads_, inner_->kek_versions(f); }
  Result<std::vector<DekRecord>> next_rewrap_batch(const std::string& f, std::uint32_t t, const envelope::DekId& a,
                                                   std::size_t l, const envelope::DekId& b) override {
    return inner_->next_rewrap_batch(f, t, a, l, b);
  }
  Result<std::size_t> apply_rewraps(const std::vector<Rewrap>& r) override { return inner_->apply_rewraps(r); }
  Result<std::map<std::uint32_t, std::uint64_t>> count_by_version(const std::string& f) override {
    return inner_->count_by_version(f);
  }
  Status set_rotation(const RotationRecord& r) override { return inner_->set_rotation(r); }
  Result<std::optional<RotationRecord>> rotation(const std::string& f) override { return inner_->rotation(f); }
  Status record_file_references(const std::vector<FileReference>& r) override { return inner_->record_file_references(r); }
  Result<std::uint64_t> references_to(const std::string& f, std::uint32_t v) override { return inner_->references_to(f, v); }
  Result<std::int64_t> begin_run(const std::string& f, std::uint32_t t, const std::vector<std::string>& p) override {
    return inner_->begin_run(f, t, p);
  }
  Status record_run_file(const std::vector<std::int64_t>& ids, const RunFile& f) override { return inner_->record_run_file(ids, f); }
  Status finish_run(std::int64_t id, bool c, RunOutcome o, const std::string& r) override { return inner_->finish_run(id, c, o, r); }
  Result<std::vector<RunRecord>> runs(const std::string& f, std::size_t l) override { return inner_->runs(f, l); }
  Result<std::vector<RunFile>> run_files(std::int64_t id, FileOutcome o, std::size_t l) override {
    return inner_->run_files(id, o, l);
  }
  Status retire_if(const std::string& f, std::uint32_t v, const std::function<Status(const RetireFacts&)>& d) override {
    return inner_->retire_if(f, v, d);
  }
  Result<std::size_t> shred_scope(const std::string& s, const std::string& r) override { return inner_->shred_scope(s, r); }
  Result<bool> is_shredded(const std::string& s) override { return ++reads_, inner_->is_shredded(s); }
  Result<std::vector<Residue>> purge_copies(const std::vector<std::vector<std::uint8_t>>& s) override {
    return inner_->purge_copies(s);
  }
  Result<bool> is_dek_shredded(const envelope::DekId& id) override { return ++reads_, inner_->is_dek_shredded(id); }

 private:
  std::unique_ptr<SqliteCatalog> inner_;
  std::atomic<std::uint64_t> reads_{0};
};

// A clock the test moves by hand.
struct ManualClock {
  std::shared_ptr<std::atomic<std::int64_t>> ms = std::make_shared<std::atomic<std::int64_t>>(1'000'000);
  DekCache::Clock clock() const {
    return [ms = ms] { return DekCache::TimePoint(std::chrono::milliseconds(ms->load())); };
  }
  void advance(std::chrono::milliseconds by) const { *ms += by.count(); }
};

const std::vector<std::uint8_t> kPlain{'s', 'e', 'c', 'r', 'e', 't'};
const envelope::EncodedContext kContext(envelope::EncryptionContext{{"table", "users"}});

struct Setup {
  std::string path;
  std::unique_ptr<CountingCatalog> catalog;
};

Setup open_counting(const std::string& name) {
  Setup setup{fresh_catalog(name), nullptr};
  auto inner = SqliteCatalog::open(setup.path);
  EXPECT_TRUE(inner) << inner.error().message;
  if (inner) setup.catalog = std::make_unique<CountingCatalog>(std::move(*inner));
  return setup;
}

KeyHierarchy* hierarchy() {
  auto* env = testing::hierarchy_env();
  return env ? env->hierarchy.get() : nullptr;
}

TEST(KeyServiceCache, ValuesAreServedWithoutReadingTheCatalog) {
  ASSERT_NE(hierarchy(), nullptr);
  auto setup = open_counting("memory");
  ASSERT_TRUE(setup.catalog);
  DekCache cache;
  KeyService service(*hierarchy(), *setup.catalog, cache);
  auto value = service.encrypt_field("tenant:a", "payments", kPlain, envelope::FieldSuite::randomized, kContext);
  ASSERT_TRUE(value) << value.error().message;
  ASSERT_TRUE(service.decrypt_field(*value, "tenant:a", kContext));
  ASSERT_TRUE(service.encrypt_field("tenant:a", "payments", kPlain, envelope::FieldSuite::randomized, kContext));
  const auto reads = setup.catalog->reads();
  const auto dek_cache_hits = cache.stats().hits;
  for (int i = 0; i < 1000; ++i) {
    auto again = service.encrypt_field("tenant:a", "payments", kPlain, envelope::FieldSuite::deterministic, kContext);
    ASSERT_TRUE(again) << again.error().message;
    auto plain = service.decrypt_field(*value, "tenant:a", kContext);
    ASSERT_TRUE(plain) << plain.error().message;
    ASSERT_TRUE(std::equal(plain->reveal().begin(), plain->reveal().end(), kPlain.begin(), kPlain.end()));
  }
  EXPECT_EQ(setup.catalog->reads(), reads) << "2000 values within the revalidation window read no catalog row";
  EXPECT_EQ(cache.stats().hits, dek_cache_hits) << "and derived no subkeys from the DEK again";
}

TEST(KeyServiceCache, AValueOfAnotherScopeIsRefusedFromMemoryToo) {
  ASSERT_NE(hierarchy(), nullptr);
  auto setup = open_counting("scopes");
  ASSERT_TRUE(setup.catalog);
  DekCache cache;
  KeyService service(*hierarchy(), *setup.catalog, cache);
  auto acme = service.encrypt_field("tenant:acme", "payments", kPlain, envelope::FieldSuite::randomized, kContext);
  ASSERT_TRUE(acme);
  ASSERT_TRUE(service.encrypt_field("tenant:other", "payments", kPlain, envelope::FieldSuite::randomized, kContext));
  ASSERT_TRUE(service.decrypt_field(*acme, "tenant:acme", kContext)) << "the key is now in memory";
  for (int i = 0; i < 3; ++i) {
    auto refused = service.decrypt_field(*acme, "tenant:other", kContext);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().category, ErrorCategory::policy);
    EXPECT_EQ(refused.error().message.find("tenant:"), std::string::npos) << refused.error().message;
    auto parsed = envelope::parse_field(*acme);
    EXPECT_FALSE(service.key_for_decryption(parsed->dek_id, std::string("tenant:other")));
  }
  EXPECT_TRUE(service.decrypt_field(*acme, std::nullopt, kContext)) << "without expected_scope it still decrypts";
}

TEST(KeyServiceCache, AShredInThisProcessStopsEncryptAndDecryptAtOnce) {
  ASSERT_NE(hierarchy(), nullptr);
  auto setup = open_counting("shred_here");
  ASSERT_TRUE(setup.catalog);
  DekCache cache;  // real clock, default 1 s window: the shred must not wait for it
  KeyService service(*hierarchy(), *setup.catalog, cache);
  auto value = service.encrypt_field("tenant:gone", "payments", kPlain, envelope::FieldSuite::randomized, kContext);
  ASSERT_TRUE(value);
  ASSERT_TRUE(service.decrypt_field(*value, std::nullopt, kContext));
  ASSERT_TRUE(service.encrypt_field("tenant:gone", "payments", kPlain, envelope::FieldSuite::randomized, kContext));
  // Another catalog object (another connection) in the same process shreds the scope.
  auto other = SqliteCatalog::open(setup.path);
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->shred_scope("tenant:gone", "test"));
  auto read = service.decrypt_field(*value, std::nullopt, kContext);
  ASSERT_FALSE(read) << "a shredded scope's value decrypted from memory after the shred";
  EXPECT_EQ(read.error().category, ErrorCategory::shredded);
  auto written = service.encrypt_field("tenant:gone", "payments", kPlain, envelope::FieldSuite::randomized, kContext);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().category, ErrorCategory::shredded);
}

TEST(KeyServiceCache, AShredByAnotherProcessIsSeenWithinTheRevalidationWindow) {
  ASSERT_NE(hierarchy(), nullptr);
  auto setup = open_counting("shred_elsewhere");
  ASSERT_TRUE(setup.catalog);
  ManualClock clock;
  DekCache cache(DekCacheLimits{}, clock.clock());
  KeyService service(*hierarchy(), *setup.catalog, cache, KeyServiceOptions{500ms});
  auto value = service.encrypt_field("tenant:far", "payments", kPlain, envelope::FieldSuite::randomized, kContext);
  ASSERT_TRUE(value);
  ASSERT_TRUE(service.decrypt_field(*value, std::nullopt, kContext));
  ASSERT_TRUE(service.encrypt_field("tenant:far", "payments", kPlain, envelope::FieldSuite::randomized, kContext));

  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // another process: its shred does not touch this process's memory
    auto catalog = SqliteCatalog::open(setup.path);
    _exit(catalog && (*catalog)->shred_scope("tenant:far", "test") ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  // The documented staleness window: served from memory until its row is due again.
  clock.advance(400ms);
  EXPECT_TRUE(service.decrypt_field(*value, std::nullopt, kContext)) << "within the window (documented)";
  clock.advance(100ms);
  auto read = service.decrypt_field(*value, std::nullopt, kContext);
  ASSERT_FALSE(read) << "still decrypting a scope shredded elsewhere after the revalidation window";
  EXPECT_EQ(read.error().category, ErrorCategory::shredded);
  auto written = service.encrypt_field("tenant:far", "payments", kPlain, envelope::FieldSuite::randomized, kContext);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().category, ErrorCategory::shredded);
}

TEST(KeyServiceCache, InvalidatingTheDekCacheOrForgettingDropsTheDerivedKeys) {
  ASSERT_NE(hierarchy(), nullptr);
  auto setup = open_counting("invalidate");
  ASSERT_TRUE(setup.catalog);
  DekCache cache;
  KeyService service(*hierarchy(), *setup.catalog, cache);
  auto value = service.encrypt_field("tenant:i", "payments", kPlain, envelope::FieldSuite::randomized, kContext);
  ASSERT_TRUE(value);
  ASSERT_TRUE(service.decrypt_field(*value, std::nullopt, kContext));
  const auto parsed = envelope::parse_field(*value);
  ASSERT_TRUE(parsed);

  auto reads = setup.catalog->reads();
  cache.invalidate_dek(parsed->dek_id);
  const auto loads = cache.stats().loads;
  ASSERT_TRUE(service.decrypt_field(*value, std::nullopt, kContext));
  EXPECT_GT(setup.catalog->reads(), reads) << "the row is read again";
  EXPECT_EQ(cache.stats().loads, loads + 1) << "and the DEK unwrapped again, not served from the derived keys";

  reads = setup.catalog->reads();
  service.forget_cached_keys();
  ASSERT_TRUE(service.decrypt_field(*value, std::nullopt, kContext));
  ASSERT_TRUE(service.encrypt_field("tenant:i", "payments", kPlain, envelope::FieldSuite::randomized, kContext));
  EXPECT_GE(setup.catalog->reads(), reads + 3) << "find_dek, is_shredded and active_dek after forget_cached_keys()";
}

TEST(KeyServiceCache, KeysObeyTheDekCacheLimits) {
  ASSERT_NE(hierarchy(), nullptr);
  auto setup = open_counting("limits");
  ASSERT_TRUE(setup.catalog);
  ManualClock clock;
  DekCacheLimits limits;
  limits.max_uses = 5;
  limits.ttl = 10s;
  limits.idle = 10s;
  DekCache cache(limits, clock.clock());
  KeyService service(*hierarchy(), *setup.catalog, cache, KeyServiceOptions{60s});
  auto value = service.encrypt_field("tenant:l", "payments", kPlain, envelope::FieldSuite::randomized, kContext);
  ASSERT_TRUE(value);
  // Uses of the derived key count as uses of the DEK: at most max_uses per load.
  const auto before = cache.stats();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(service.decrypt_field(*value, std::nullopt, kContext));
  const auto after_uses = cache.stats();
  EXPECT_GE(after_uses.loads - before.loads, 3u) << "20 uses with max_uses 5 need at least 3 more loads";

  // TTL: after it, the key is derived from a freshly unwrapped DEK.
  ASSERT_TRUE(service.decrypt_field(*value, std::nullopt, kContext));
  const auto loads = cache.stats().loads;
  clock.advance(11s);
  ASSERT_TRUE(service.decrypt_field(*value, std::nullopt, kContext));
  EXPECT_EQ(cache.stats().loads, loads + 1) << "past the TTL the DEK is unwrapped again";
}

TEST(KeyServiceCache, RewrapThroughTheServiceIsSeenAtOnce) {
  ASSERT_NE(hierarchy(), nullptr);
  ASSERT_TRUE(hierarchy()->create_kek("cachedual"));
  auto setup = open_counting("rewrap");
  ASSERT_TRUE(setup.catalog);
  DekCache cache;
  KeyService service(*hierarchy(), *setup.catalog, cache);
  auto value = service.encrypt_field("tenant:r", "cachedual", kPlain, envelope::FieldSuite::randomized, kContext);
  ASSERT_TRUE(value);
  const auto parsed = envelope::parse_field(*value);
  ASSERT_TRUE(hierarchy()->create_kek("cachedual"));
  auto older = service.shared_key_for_decryption(parsed->dek_id);
  ASSERT_TRUE(older);
  EXPECT_TRUE((*older)->under_older_kek_version);
  ASSERT_TRUE(service.rewrap_catalog_entry(parsed->dek_id));
  auto current = service.shared_key_for_decryption(parsed->dek_id);
  ASSERT_TRUE(current);
  EXPECT_FALSE((*current)->under_older_kek_version) << "no stale note after this service rewrapped the entry";
  EXPECT_EQ((*current)->record.kek_version, (*older)->record.kek_version + 1);
  EXPECT_TRUE(service.decrypt_field(*value, "tenant:r", kContext));
}

TEST(KeyServiceCache, ReadersRacingAShredAllFailAfterIt) {
  ASSERT_NE(hierarchy(), nullptr);
  auto setup = open_counting("race");
  ASSERT_TRUE(setup.catalog);
  DekCache cache(DekCacheLimits{.capacity = 4096});  // sharded
  KeyService service(*hierarchy(), *setup.catalog, cache);
  auto value = service.encrypt_field("tenant:race", "payments", kPlain, envelope::FieldSuite::randomized, kContext);
  ASSERT_TRUE(value);
  std::atomic<bool> shredded{false};
  std::atomic<int> before_ok{0}, after_ok{0}, after_refused{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      for (int calls_after = 0; calls_after < 50;) {
        const bool after = shredded.load();  // read before the call: a call that began after the shred
        auto plain = service.decrypt_field(*value, "tenant:race", kContext);
        if (!after) {
          if (plain) ++before_ok;
          continue;
        }
        ++calls_after;
        if (plain) {
          ++after_ok;
        } else {
          EXPECT_EQ(plain.error().category, ErrorCategory::shredded) << plain.error().message;
          ++after_refused;
        }
      }
    });
  }
  while (before_ok.load() < 1000) std::this_thread::yield();
  auto other = SqliteCatalog::open(setup.path);
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->shred_scope("tenant:race", "test"));
  shredded = true;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(after_ok.load(), 0) << "a decrypt that began after the shred committed succeeded";
  EXPECT_GT(after_refused.load(), 0);
}

}  // namespace
}  // namespace keyward::hierarchy
