// The catalog conformance suite: every behaviour the Catalog interface promises, run against both
// implementations (SQLite file, PostgreSQL database on the run's private server). What only one
// backend has (SQLite's WAL purge, file modes, read-only files) is in catalog_test.cc and
// postgres_catalog_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <set>
#include <thread>

#include <unistd.h>

#include "catalog/catalog_location.h"
#include "catalog/postgres_catalog.h"
#include "catalog/sqlite_catalog.h"
#include "tests/support/test_postgres.h"
#include "tests/support/test_token.h"

namespace keyward::hierarchy {
namespace {

enum class Backend { sqlite, postgres };

envelope::DekId id_of(std::uint64_t n) {
  envelope::DekId id{};
  for (int i = 0; i < 8; ++i) id[static_cast<std::size_t>(15 - i)] = static_cast<std::uint8_t>(n >> (8 * i));
  return id;
}

DekRecord record(std::uint64_t n, std::string scope, std::uint32_t version = 1) {
  return DekRecord{id_of(n), std::move(scope), "payments", version, std::vector<std::uint8_t>(40, static_cast<std::uint8_t>(n)),
                   DekState::active, 0, 0};
}

class CatalogConformance : public ::testing::TestWithParam<Backend> {
 protected:
  // A location for a new, empty catalog of the backend under test (each call a new one).
  std::string fresh_location(const std::string& name) {
    if (GetParam() == Backend::postgres) return keyward::testing::fresh_postgres_catalog(name);
    std::string path = keyward::testing::scratch_dir("conformance") + "/" + name + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
    return path;
  }
  // A connection through the factory applications use.
  std::unique_ptr<Catalog> open_catalog(const std::string& location) {
    auto catalog = hierarchy::open_catalog(location);
    EXPECT_TRUE(catalog) << catalog.error().message;
    return catalog ? std::move(*catalog) : nullptr;
  }
  static void fail_rewraps_after(Catalog& catalog, std::size_t updates) {
    if (auto* sqlite = dynamic_cast<SqliteCatalog*>(&catalog)) sqlite->fail_rewraps_after_for_test(updates);
    if (auto* postgres = dynamic_cast<PostgresCatalog*>(&catalog)) postgres->fail_rewraps_after_for_test(updates);
  }
};

TEST_P(CatalogConformance, CreateFindAndScopes) {
  auto path = fresh_location("crud");
  auto catalog = open_catalog(path);
  ASSERT_TRUE(catalog);
  ASSERT_TRUE(catalog->create_dek(record(1, "tenant:acme")));
  ASSERT_TRUE(catalog->create_dek(record(2, "tenant:acme", 2)));
  ASSERT_TRUE(catalog->create_dek(record(3, "tenant:other")));
  auto found = catalog->find_dek(id_of(2));
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->kek_version, 2u);
  EXPECT_EQ((*found)->wrapped, record(2, "").wrapped);
  EXPECT_FALSE(*catalog->find_dek(id_of(99)));
  EXPECT_EQ(catalog->deks_for_scope("tenant:acme")->size(), 2u);
  ASSERT_TRUE(catalog->set_dek_state(id_of(1), DekState::superseded));
  auto active = catalog->active_dek("tenant:acme");
  ASSERT_TRUE(active && *active);
  EXPECT_EQ((*active)->dek_id, id_of(2));
  EXPECT_FALSE(catalog->create_dek(record(1, "tenant:acme"))) << "duplicate DEK ID";
}

TEST_P(CatalogConformance, ShredDeletesAndTombstoneBlocksRecreation) {
  auto catalog = open_catalog(fresh_location("shred"));
  ASSERT_TRUE(catalog->create_dek(record(1, "subject:42")));
  ASSERT_TRUE(catalog->create_dek(record(2, "subject:42")));
  auto destroyed = catalog->shred_scope("subject:42", "erasure request");
  ASSERT_TRUE(destroyed);
  EXPECT_EQ(*destroyed, 2u);
  EXPECT_FALSE(*catalog->find_dek(id_of(1)));
  EXPECT_TRUE(*catalog->is_shredded("subject:42"));
  auto again = catalog->create_dek(record(3, "subject:42"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().category, ErrorCategory::shredded);
}

TEST_P(CatalogConformance, RewrapBatchesAreAtomicAndResumable) {
  auto path = fresh_location("rewrap");
  auto catalog = open_catalog(path);
  std::vector<DekRecord> records;
  for (std::uint64_t n = 1; n <= 250; ++n) records.push_back(record(n, "s" + std::to_string(n % 7)));
  ASSERT_TRUE(catalog->create_deks(records));
  auto batch = catalog->next_rewrap_batch("payments", 2, envelope::DekId{}, 100);
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->size(), 100u);
  std::vector<Rewrap> rewraps;
  for (const auto& r : *batch) rewraps.push_back({r.dek_id, 1, 2, std::vector<std::uint8_t>(40, 0xEE)});

  fail_rewraps_after(*catalog, 50);
  EXPECT_FALSE(catalog->apply_rewraps(rewraps));
  EXPECT_EQ((*catalog->count_by_version("payments"))[1], 250u) << "a failed batch applies nothing";
  fail_rewraps_after(*catalog, static_cast<std::size_t>(-1));
  auto applied = catalog->apply_rewraps(rewraps);
  ASSERT_TRUE(applied);
  EXPECT_EQ(*applied, 100u);
  EXPECT_EQ(*catalog->apply_rewraps(rewraps), 0u) << "a rerun of the same batch is a no-op";
  // Resume from the cursor.
  auto rest = catalog->next_rewrap_batch("payments", 2, batch->back().dek_id, 1000);
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->size(), 150u);
  auto counts = catalog->count_by_version("payments");
  EXPECT_EQ((*counts)[1], 150u);
  EXPECT_EQ((*counts)[2], 100u);
  EXPECT_EQ(*catalog->references_to("payments", 1), 150u);
  ASSERT_TRUE(catalog->record_file_references({{"/data/a.kw", "payments", 1}, {"/data/b.kw", "payments", 2}}));
  EXPECT_EQ(*catalog->references_to("payments", 1), 151u);
}

TEST_P(CatalogConformance, TwoConnectionsShareOneFile) {
  auto path = fresh_location("shared");
  auto a = open_catalog(path);
  auto b = open_catalog(path);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->create_dek(record(1, "x")));
  auto seen = b->find_dek(id_of(1));
  ASSERT_TRUE(seen && *seen);
  ASSERT_TRUE(b->set_kek_version({"payments", 2, KekState::active, 0, 0}));
  ASSERT_TRUE(a->set_kek_version({"payments", 1, KekState::decrypt_only, 0, 0}));
  auto versions = a->kek_versions("payments");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].state, KekState::decrypt_only);
  ASSERT_TRUE(a->set_rotation({"payments", 2, 100, 0}));
  auto rotation = b->rotation("payments");
  ASSERT_TRUE(rotation && *rotation);
  EXPECT_EQ((*rotation)->target_version, 2u);
}

TEST_P(CatalogConformance, FirstDekOfAScopeIsInsertedOnceAndLaterCallersGetTheWinner) {
  auto catalog = open_catalog(fresh_location("first"));
  auto first = catalog->create_first_dek(record(1, "tenant:new"));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->outcome, FirstDek::Outcome::inserted);
  auto second = catalog->create_first_dek(record(2, "tenant:new"));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->outcome, FirstDek::Outcome::existing);
  EXPECT_EQ(second->active->dek_id, id_of(1));
  EXPECT_FALSE(*catalog->find_dek(id_of(2))) << "the loser's DEK is never recorded";
  ASSERT_TRUE(catalog->shred_scope("tenant:new", "test"));
  auto shredded = catalog->create_first_dek(record(3, "tenant:new"));
  ASSERT_FALSE(shredded);
  EXPECT_EQ(shredded.error().category, ErrorCategory::shredded);
}

TEST_P(CatalogConformance, RunProgressIsRecordedFileByFile) {
  auto path = fresh_location("runs");
  auto catalog = open_catalog(path);
  auto run = catalog->begin_run("payments", 2, {"/data", "/more"});
  ASSERT_TRUE(run);
  ASSERT_TRUE(catalog->record_run_file({*run}, {"/data/a.kw", FileOutcome::rewrapped, "payments", 2, ""}));
  // Recorded at once, visible to another process before the run ends (a kill loses nothing).
  auto other = open_catalog(path);
  auto seen = other->runs("payments", 5);
  ASSERT_TRUE(seen);
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ((*seen)[0].outcome, RunOutcome::running);
  EXPECT_EQ((*seen)[0].files_rewrapped, 1u);
  EXPECT_EQ((*seen)[0].paths, (std::vector<std::string>{"/data", "/more"}));
  ASSERT_TRUE(catalog->record_run_file({*run}, {"/data/b.kw", FileOutcome::failed, "payments", 1, "damaged"}));
  ASSERT_TRUE(catalog->record_run_file({*run}, {"/data/c.kw", FileOutcome::failed, "", 0, "truncated"}));
  EXPECT_EQ(*catalog->references_to("payments", 1), 1u) << "a failed file keeps its reference to the old version";
  ASSERT_TRUE(catalog->finish_run(*run, true, RunOutcome::incomplete, "2 files"));
  auto failed = catalog->run_files(*run, FileOutcome::failed, 10);
  ASSERT_TRUE(failed);
  ASSERT_EQ(failed->size(), 2u);
  EXPECT_EQ((*failed)[0].reason, "damaged");
  auto done = other->runs("payments", 5);
  EXPECT_EQ((*done)[0].outcome, RunOutcome::incomplete);
  EXPECT_EQ((*done)[0].files_failed, 2u);
}

TEST_P(CatalogConformance, RetireChecksAndMarksInOneTransaction) {
  auto path = fresh_location("retire");
  auto catalog = open_catalog(path);
  auto writer = open_catalog(path);
  // A DEK written while v1 was current, committed before retire: retire must see it.
  ASSERT_TRUE(catalog->set_kek_version({"payments", 1, KekState::active, 0, 0}));
  ASSERT_TRUE(writer->create_dek(record(1, "tenant:late", 1)));
  ASSERT_TRUE(catalog->set_kek_version({"payments", 1, KekState::decrypt_only, 0, 0}));
  auto run = catalog->begin_run("payments", 2, {});
  ASSERT_TRUE(catalog->finish_run(*run, true, RunOutcome::complete, ""));
  RetireFacts seen;
  auto refused = catalog->retire_if("payments", 1, [&](const RetireFacts& facts) -> Status {
    seen = facts;
    return facts.deks ? make_error(ErrorCategory::policy, "referenced") : Status{};
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(seen.deks, 1u);
  ASSERT_TRUE(seen.newest_run_after);
  EXPECT_EQ(seen.newest_run_after->run_id, *run);
  EXPECT_EQ((*catalog->kek_versions("payments"))[0].state, KekState::decrypt_only) << "a refusal marks nothing";
  ASSERT_TRUE(writer->shred_scope("tenant:late", "test"));
  ASSERT_TRUE(catalog->retire_if("payments", 1, [](const RetireFacts& facts) -> Status {
    return facts.deks ? make_error(ErrorCategory::policy, "referenced") : Status{};
  }));
  EXPECT_EQ((*writer->kek_versions("payments"))[0].state, KekState::retired);
  // A run that targets the version itself does not count: it started while the version was newest.
  auto old_run = catalog->begin_run("payments", 1, {});
  ASSERT_TRUE(catalog->retire_if("payments", 1, [&](const RetireFacts& facts) -> Status {
    EXPECT_TRUE(facts.already_retired);
    EXPECT_EQ(facts.newest_run_after->run_id, *run) << "run " << *old_run << " targets v1 itself";
    return {};
  }));
}

TEST_P(CatalogConformance, ConcurrentFirstUsesOfAScopeYieldOneActiveDek) {
  const auto location = fresh_location("race");
  ASSERT_TRUE(open_catalog(location));  // created and migrated before the race
  constexpr int kWriters = 6;
  std::vector<std::unique_ptr<Catalog>> connections;
  for (int i = 0; i < kWriters; ++i) connections.push_back(open_catalog(location));
  std::atomic<int> ready{0};
  std::vector<Result<FirstDek>> outcomes(kWriters, make_error(ErrorCategory::internal, "not run"));
  std::vector<std::thread> writers;
  for (int i = 0; i < kWriters; ++i)
    writers.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < kWriters) std::this_thread::yield();
      outcomes[static_cast<std::size_t>(i)] = connections[static_cast<std::size_t>(i)]->create_first_dek(record(100 + static_cast<std::uint64_t>(i), "tenant:race"));
    });
  for (auto& writer : writers) writer.join();
  int inserted = 0;
  std::set<envelope::DekId> winners;
  for (const auto& outcome : outcomes) {
    ASSERT_TRUE(outcome) << outcome.error().message;
    inserted += outcome->outcome == FirstDek::Outcome::inserted;
    ASSERT_TRUE(outcome->active);
    winners.insert(outcome->active->dek_id);
  }
  EXPECT_EQ(inserted, 1) << "exactly one writer records the scope's first DEK";
  EXPECT_EQ(winners.size(), 1u) << "every writer ends up with the same DEK";
  auto all = connections[0]->deks_for_scope("tenant:race");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u) << "the losers' DEKs are never recorded";
}

TEST_P(CatalogConformance, RewrapBatchesAreClaimedDisjointlyWhereTheBackendSharesThem) {
  const auto location = fresh_location("claims");
  auto a = open_catalog(location);
  auto b = open_catalog(location);
  std::vector<DekRecord> records;
  for (std::uint64_t n = 1; n <= 30; ++n) records.push_back(record(n, "s" + std::to_string(n)));
  ASSERT_TRUE(a->create_deks(records));
  auto run = a->begin_run("payments", 2, {});
  ASSERT_TRUE(run);
  if (GetParam() == Backend::sqlite) {
    EXPECT_FALSE(a->claims_rewrap_batches());
    auto refused = a->claim_rewrap_batch("payments", 2, 10, *run);
    ASSERT_FALSE(refused) << "SQLite runs are sharded: a claim is refused, not faked";
    EXPECT_EQ(refused.error().category, ErrorCategory::usage);
    return;
  }
  ASSERT_TRUE(a->claims_rewrap_batches());
  auto first = a->claim_rewrap_batch("payments", 2, 20, *run);
  ASSERT_TRUE(first) << first.error().message;
  auto second = b->claim_rewrap_batch("payments", 2, 20, *run);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ((*first)->records().size(), 20u);
  EXPECT_EQ((*second)->records().size(), 10u) << "the other process gets only what is not claimed";
  std::set<envelope::DekId> seen;
  for (const auto* claim : {first->get(), second->get()})
    for (const auto& r : claim->records()) EXPECT_TRUE(seen.insert(r.dek_id).second) << "a DEK claimed twice";
  EXPECT_EQ(seen.size(), 30u);
  // The second process gives its batch back without committing: it returns to the pool unchanged.
  second->reset();
  std::vector<Rewrap> rewraps;
  for (const auto& r : (*first)->records()) rewraps.push_back({r.dek_id, 1, 2, std::vector<std::uint8_t>(40, 0xEE)});
  auto applied = (*first)->commit(rewraps);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(*applied, 20u);
  first->reset();
  auto rest = b->claim_rewrap_batch("payments", 2, 100, *run);
  ASSERT_TRUE(rest);
  EXPECT_EQ((*rest)->records().size(), 10u) << "the released batch is claimable again";
  rest->reset();
  auto runs = a->runs("payments", 1);
  ASSERT_TRUE(runs);
  EXPECT_EQ((*runs)[0].deks_rewrapped, 20u) << "the commit counted its DEKs for the run";
  EXPECT_EQ((*runs)[0].rewraps_already_done, 0u) << "disjoint batches: no rewrap was done twice";
  EXPECT_EQ((*a->count_by_version("payments"))[2], 20u);
}

TEST_P(CatalogConformance, RunsRecordTheirHost) {
  auto catalog = open_catalog(fresh_location("host"));
  auto run = catalog->begin_run("payments", 2, {"/data"});
  ASSERT_TRUE(run);
  auto runs = catalog->runs("payments", 1);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].host, run_host());
  EXPECT_NE((*runs)[0].host.find(':'), std::string::npos) << "host name and process id";
}

TEST_P(CatalogConformance, AnUnreachableCatalogIsNamedAndNothingIsCreated) {
  const std::string missing_dir = keyward::testing::scratch_dir("unreachable") + "/no-such-dir";
  const std::string location = GetParam() == Backend::postgres
                                   ? "postgresql://keyward@/catalog?host=" + missing_dir + "&connect_timeout=2"
                                   : missing_dir + "/catalog.db";
  auto opened = hierarchy::open_catalog(location);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find(GetParam() == Backend::postgres ? "postgresql://keyward@/catalog" : location),
            std::string::npos)
      << "names the database: " << opened.error().message;
  if (GetParam() == Backend::postgres) {
    EXPECT_EQ(opened.error().category, ErrorCategory::database);
    EXPECT_EQ(exit_code_for(opened.error().category), 3) << "infrastructure, as a token failure";
    EXPECT_NE(opened.error().message.find("unreachable"), std::string::npos) << opened.error().message;
  }
  EXPECT_NE(::access(missing_dir.c_str(), F_OK), 0) << "nothing was created on the way";
}

INSTANTIATE_TEST_SUITE_P(Backends, CatalogConformance, ::testing::Values(Backend::sqlite, Backend::postgres),
                         [](const ::testing::TestParamInfo<Backend>& backend) {
                           return std::string(backend.param == Backend::sqlite ? "sqlite" : "postgres");
                         });

}  // namespace
}  // namespace keyward::hierarchy
