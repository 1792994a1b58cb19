#include "catalog/sqlite_catalog.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "tests/support/test_token.h"

namespace keyward::hierarchy {
namespace {

std::string fresh_path(const std::string& name) {
  std::string path = keyward::testing::scratch_dir("catalogs") + "/" + name + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

envelope::DekId id_of(std::uint64_t n) {
  envelope::DekId id{};
  for (int i = 0; i < 8; ++i) id[static_cast<std::size_t>(15 - i)] = static_cast<std::uint8_t>(n >> (8 * i));
  return id;
}

DekRecord record(std::uint64_t n, std::string scope, std::uint32_t version = 1) {
  return DekRecord{id_of(n), std::move(scope), "payments", version, std::vector<std::uint8_t>(40, static_cast<std::uint8_t>(n)),
                   DekState::active, 0, 0};
}

std::unique_ptr<SqliteCatalog> open_catalog(const std::string& path) {
  auto catalog = SqliteCatalog::open(path);
  EXPECT_TRUE(catalog) << catalog.error().message;
  return catalog ? std::move(*catalog) : nullptr;
}

TEST(Catalog, SchemaV1CatalogIsMigratedWithItsRows) {
  // A catalog as keyward's schema v1 wrote it (deks as a rowid table), made without keyward.
  auto path = fresh_path("v1");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* v1 =
      "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);"
      "CREATE TABLE kek_versions (family TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL,"
      "  created INTEGER NOT NULL, retired INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (family, version));"
      "CREATE TABLE deks (dek_id BLOB PRIMARY KEY, scope TEXT NOT NULL, kek_family TEXT NOT NULL, kek_version INTEGER NOT NULL,"
      "  wrapped BLOB NOT NULL, state TEXT NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
      "CREATE INDEX deks_by_scope ON deks (scope, state);"
      "CREATE INDEX deks_by_kek ON deks (kek_family, kek_version, dek_id);"
      "CREATE TABLE tombstones (scope TEXT PRIMARY KEY, shredded INTEGER NOT NULL, reason TEXT NOT NULL);"
      "CREATE TABLE shredded_deks (dek_id BLOB PRIMARY KEY, scope TEXT NOT NULL);"
      "CREATE TABLE file_refs (path TEXT PRIMARY KEY, kek_family TEXT NOT NULL, kek_version INTEGER NOT NULL,"
      "  scanned INTEGER NOT NULL);"
      "CREATE TABLE rotations (family TEXT PRIMARY KEY, target_version INTEGER NOT NULL, started INTEGER NOT NULL,"
      "  finished INTEGER NOT NULL DEFAULT 0);"
      "INSERT INTO deks VALUES (x'00000000000000000000000000000007', 'tenant:acme', 'payments', 3, zeroblob(40), 'active', 1, 2);";
  ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);

  auto catalog = open_catalog(path);
  ASSERT_TRUE(catalog);
  auto found = catalog->find_dek(id_of(7));
  ASSERT_TRUE(found && *found) << "the row survived the migration";
  EXPECT_EQ((*found)->scope, "tenant:acme");
  EXPECT_EQ((*found)->kek_version, 3u);
  EXPECT_EQ((*found)->wrapped, std::vector<std::uint8_t>(40, 0));
  ASSERT_TRUE(catalog->create_dek(record(8, "tenant:acme")));
  EXPECT_EQ(catalog->deks_for_scope("tenant:acme")->size(), 2u);

  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* query = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &query, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(query), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(query, 0), 5);
  sqlite3_finalize(query);
  sqlite3_close(db);
}

TEST(Catalog, SchemaV2CatalogWithTwoActiveDeksOfAScopeMigratesKeepingEveryRowAndOneActiveDek) {
  // A v2 catalog as two racing first encrypts left it: two active DEKs for tenant:race.
  auto path = fresh_path("v2");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* v2 =
      "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (2);"
      "CREATE TABLE kek_versions (family TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL,"
      "  created INTEGER NOT NULL, retired INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (family, version));"
      "CREATE TABLE deks (dek_id BLOB PRIMARY KEY, scope TEXT NOT NULL, kek_family TEXT NOT NULL, kek_version INTEGER NOT NULL,"
      "  wrapped BLOB NOT NULL, state TEXT NOT NULL CHECK (state IN ('active','superseded')),"
      "  created INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;"
      "CREATE INDEX deks_by_scope ON deks (scope, state);"
      "CREATE INDEX deks_by_kek ON deks (kek_family, kek_version, dek_id);"
      "CREATE TABLE tombstones (scope TEXT PRIMARY KEY, shredded INTEGER NOT NULL, reason TEXT NOT NULL);"
      "CREATE TABLE shredded_deks (dek_id BLOB PRIMARY KEY, scope TEXT NOT NULL);"
      "CREATE TABLE file_refs (path TEXT PRIMARY KEY, kek_family TEXT NOT NULL, kek_version INTEGER NOT NULL,"
      "  scanned INTEGER NOT NULL);"
      "CREATE TABLE rotations (family TEXT PRIMARY KEY, target_version INTEGER NOT NULL, started INTEGER NOT NULL,"
      "  finished INTEGER NOT NULL DEFAULT 0);"
      "INSERT INTO deks VALUES (x'00000000000000000000000000000001', 'tenant:race', 'payments', 1, zeroblob(40), 'active', 5, 5);"
      "INSERT INTO deks VALUES (x'00000000000000000000000000000002', 'tenant:race', 'payments', 1, zeroblob(40), 'active', 5, 5);"
      "INSERT INTO deks VALUES (x'00000000000000000000000000000003', 'tenant:race', 'payments', 1, zeroblob(40), 'superseded', 1, 1);"
      "INSERT INTO deks VALUES (x'00000000000000000000000000000004', 'tenant:calm', 'payments', 1, zeroblob(40), 'active', 9, 9);";
  ASSERT_EQ(sqlite3_exec(db, v2, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);

  auto catalog = open_catalog(path);
  ASSERT_TRUE(catalog);
  for (std::uint64_t n = 1; n <= 4; ++n) EXPECT_TRUE(*catalog->find_dek(id_of(n))) << "row " << n << " kept";
  auto race = catalog->deks_for_scope("tenant:race");
  ASSERT_EQ(race->size(), 3u);
  int active = 0;
  for (const auto& r : *race) active += r.state == DekState::active;
  EXPECT_EQ(active, 1) << "one active DEK per scope";
  EXPECT_EQ((*catalog->active_dek("tenant:race"))->dek_id, id_of(2)) << "the newest (ties: highest DEK ID) stays active";
  EXPECT_EQ((*catalog->active_dek("tenant:calm"))->dek_id, id_of(4));

  // The unique index holds against writers that bypass keyward's insert.
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE deks SET state = 'active' WHERE dek_id = x'00000000000000000000000000000003'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_stmt* query = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &query, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(query), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(query, 0), 5);  // v3, v4, then v5
  sqlite3_finalize(query);
  sqlite3_close(db);
}

TEST(Catalog, FileIsCreatedMode0600) {
  auto path = fresh_path("mode");
  auto catalog = open_catalog(path);
  ASSERT_TRUE(catalog);
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(Catalog, ReadOnlyConnectionReadsAndRefusesWritesClearly) {
  auto path = fresh_path("readonly");
  {
    auto writer = open_catalog(path);
    ASSERT_TRUE(writer->create_dek(record(1, "tenant:ro")));
    ASSERT_TRUE(writer->set_kek_version({"payments", 1, KekState::active, 0, 0}));
    // The writer stays open: its -wal and -shm exist while the reader reads.
    auto reader = SqliteCatalog::open_read_only(path);
    ASSERT_TRUE(reader) << reader.error().message;
    EXPECT_FALSE((*reader)->writable());
    auto found = (*reader)->find_dek(id_of(1));
    ASSERT_TRUE(found && *found) << "the reader sees the writer's committed rows";
    EXPECT_EQ((*reader)->kek_versions("payments")->size(), 1u);
    auto write = (*reader)->create_dek(record(2, "tenant:ro"));
    ASSERT_FALSE(write);
    EXPECT_EQ(write.error().category, ErrorCategory::io);
    EXPECT_NE(write.error().message.find("read-only"), std::string::npos) << write.error().message;
  }
  EXPECT_FALSE(SqliteCatalog::open_read_only(fresh_path("missing"))) << "read-only never creates a catalog";
}

std::int64_t count_rows(const std::string& path, const std::string& table) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return -1;
  sqlite3_stmt* query = nullptr;
  std::int64_t n = -1;
  if (sqlite3_prepare_v2(db, ("SELECT COUNT(*) FROM " + table).c_str(), -1, &query, nullptr) == SQLITE_OK &&
      sqlite3_step(query) == SQLITE_ROW)
    n = sqlite3_column_int64(query, 0);
  sqlite3_finalize(query);
  sqlite3_close(db);
  return n;
}

TEST(Catalog, SchemaV2CatalogIsMigratedToV4WithEveryRow) {
  // A catalog as keyward's schema v2 wrote it, with rows in every table, made without keyward.
  auto path = fresh_path("v2");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* v2 =
      "PRAGMA journal_mode=WAL;"
      "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (2);"
      "CREATE TABLE kek_versions (family TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL "
      "  CHECK (state IN ('active','decrypt-only','retired')), created INTEGER NOT NULL, retired INTEGER NOT NULL DEFAULT 0,"
      "  PRIMARY KEY (family, version));"
      "CREATE TABLE deks (dek_id BLOB PRIMARY KEY, scope TEXT NOT NULL, kek_family TEXT NOT NULL,"
      "  kek_version INTEGER NOT NULL, wrapped BLOB NOT NULL, state TEXT NOT NULL CHECK (state IN ('active','superseded')),"
      "  created INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;"
      "CREATE INDEX deks_by_scope ON deks (scope, state);"
      "CREATE INDEX deks_by_kek ON deks (kek_family, kek_version, dek_id);"
      "CREATE TABLE tombstones (scope TEXT PRIMARY KEY, shredded INTEGER NOT NULL, reason TEXT NOT NULL);"
      "CREATE TABLE shredded_deks (dek_id BLOB PRIMARY KEY, scope TEXT NOT NULL);"
      "CREATE TABLE file_refs (path TEXT PRIMARY KEY, kek_family TEXT NOT NULL, kek_version INTEGER NOT NULL,"
      "  scanned INTEGER NOT NULL);"
      "CREATE INDEX file_refs_by_kek ON file_refs (kek_family, kek_version);"
      "CREATE TABLE rotations (family TEXT PRIMARY KEY, target_version INTEGER NOT NULL, started INTEGER NOT NULL,"
      "  finished INTEGER NOT NULL DEFAULT 0);"
      "INSERT INTO kek_versions VALUES ('payments', 1, 'decrypt-only', 10, 0), ('payments', 2, 'active', 20, 0);"
      "INSERT INTO deks VALUES (x'00000000000000000000000000000007', 'tenant:acme', 'payments', 1, zeroblob(40), 'active', 1, 2),"
      "  (x'00000000000000000000000000000008', 'tenant:acme', 'payments', 2, zeroblob(40), 'superseded', 3, 4);"
      "INSERT INTO tombstones VALUES ('tenant:gone', 5, 'erasure');"
      "INSERT INTO shredded_deks VALUES (x'00000000000000000000000000000009', 'tenant:gone');"
      "INSERT INTO file_refs VALUES ('/data/a.kw', 'payments', 1, 6);"
      "INSERT INTO rotations VALUES ('payments', 2, 20, 0);";
  ASSERT_EQ(sqlite3_exec(db, v2, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
  const std::vector<std::pair<std::string, std::int64_t>> before = {
      {"kek_versions", 2}, {"deks", 2}, {"tombstones", 1}, {"shredded_deks", 1}, {"file_refs", 1}, {"rotations", 1}};

  auto catalog = open_catalog(path);
  ASSERT_TRUE(catalog);
  for (const auto& [table, rows] : before) EXPECT_EQ(count_rows(path, table), rows) << table << " kept every row";
  EXPECT_EQ(count_rows(path, "rotation_runs"), 0);
  EXPECT_EQ(*catalog->references_to("payments", 1), 2u) << "the DEK and the file under v1";
  EXPECT_TRUE(*catalog->is_shredded("tenant:gone"));
  auto rotation = catalog->rotation("payments");
  ASSERT_TRUE(rotation && *rotation);
  EXPECT_EQ((*rotation)->target_version, 2u);
  auto run = catalog->begin_run("payments", 2, {"/data"});
  ASSERT_TRUE(run) << run.error().message;
  catalog.reset();
  auto reopened = open_catalog(path);  // the migration ran once: reopening changes nothing
  ASSERT_TRUE(reopened);
  for (const auto& [table, rows] : before) EXPECT_EQ(count_rows(path, table), rows) << table;
  EXPECT_EQ(count_rows(path, "rotation_runs"), 1);
  EXPECT_EQ(count_rows(path, "schema_version"), 1);
}

TEST(Catalog, PurgeCopiesTruncatesTheWalOrSaysWhatRemains) {
  auto path = fresh_path("purge");
  auto catalog = open_catalog(path);
  auto idle = open_catalog(path);  // another connection, open but idle
  std::vector<DekRecord> records;
  for (std::uint64_t n = 1; n <= 50; ++n) records.push_back(record(n, n == 7 ? "victim" : "s"));
  records[6].wrapped = std::vector<std::uint8_t>(40);
  for (std::size_t i = 0; i < 40; ++i) records[6].wrapped[i] = static_cast<std::uint8_t>(0xA0 + i);
  ASSERT_TRUE(catalog->create_deks(records));
  const auto secret = records[6].wrapped;
  ASSERT_TRUE(catalog->shred_scope("victim", "test"));
  auto clean = catalog->purge_copies({secret});
  ASSERT_TRUE(clean) << clean.error().message;
  EXPECT_TRUE(clean->empty()) << clean->front().file << ": " << clean->front().why;

  // A reader with an open transaction pins the WAL: purge reports it, names the file, says what to do.
  ASSERT_TRUE(catalog->create_dek(record(100, "victim2")));
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &reader), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT COUNT(*) FROM deks;", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_TRUE(catalog->shred_scope("victim2", "test"));
  auto pinned = catalog->purge_copies({record(100, "").wrapped});
  ASSERT_TRUE(pinned);
  ASSERT_EQ(pinned->size(), 1u);
  EXPECT_EQ((*pinned)[0].file, path + "-wal");
  EXPECT_NE((*pinned)[0].why.find("read transaction open"), std::string::npos);
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  auto after = catalog->purge_copies({record(100, "").wrapped});
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty());

  // A row deleted by a client without secure_delete leaves its bytes on the page: purge VACUUMs.
  auto third = record(101, "victim3");
  ASSERT_TRUE(catalog->create_dek(third));
  ASSERT_EQ(sqlite3_open(path.c_str(), &reader), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "PRAGMA secure_delete=OFF; DELETE FROM deks WHERE scope = 'victim3';"
                                 "PRAGMA wal_checkpoint(TRUNCATE);", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(reader);
  auto main_file_holds = [&] {
    std::ifstream in(path, std::ios::binary);
    const std::string all((std::istreambuf_iterator<char>(in)), {});
    const std::string needle(third.wrapped.begin(), third.wrapped.end());
    return all.find(needle) != std::string::npos;
  };
  ASSERT_TRUE(main_file_holds()) << "the test needs a copy on a page to start with";
  auto vacuumed = catalog->purge_copies({third.wrapped});
  ASSERT_TRUE(vacuumed) << vacuumed.error().message;
  EXPECT_TRUE(vacuumed->empty());
  EXPECT_FALSE(main_file_holds());
}

TEST(Catalog, BulkRewrapRate) {
  // Measured, not asserted (no timing thresholds in unit tests): printed for the closing notes.
  auto catalog = open_catalog(fresh_path("bulk"));
  constexpr std::uint64_t kRows = 200'000;
  std::vector<DekRecord> records;
  for (std::uint64_t n = 1; n <= kRows; ++n) {
    records.push_back(record(n, "scope-" + std::to_string(n % 1000)));
    if (records.size() == 10'000) {
      ASSERT_TRUE(catalog->create_deks(records));
      records.clear();
    }
  }
  auto start = std::chrono::steady_clock::now();
  envelope::DekId cursor{};
  std::uint64_t total = 0;
  for (;;) {
    auto batch = catalog->next_rewrap_batch("payments", 2, cursor, 1000);
    ASSERT_TRUE(batch);
    if (batch->empty()) break;
    std::vector<Rewrap> rewraps;
    for (const auto& r : *batch) rewraps.push_back({r.dek_id, r.kek_version, 2, r.wrapped});
    auto applied = catalog->apply_rewraps(rewraps);
    ASSERT_TRUE(applied);
    total += *applied;
    cursor = batch->back().dek_id;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(total, kRows);
  std::printf("catalog: %llu rewraps recorded in %.2f s (%.0f rows/s, batches of 1000, synchronous=FULL)\n",
              static_cast<unsigned long long>(total), seconds, static_cast<double>(total) / seconds);
}

}  // namespace
}  // namespace keyward::hierarchy
