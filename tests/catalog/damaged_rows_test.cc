// Damaged DEK rows (found by tests/fuzz/catalog_row_fuzz.cc; reproducers in
// tests/fuzz/corpus/catalog_row_fuzz/crash-*): a row whose ID is not a 16-byte blob, whose KEK version
// is not a 32-bit unsigned integer or whose state is unknown is refused as corrupt input. Before, such
// an ID decoded zero-padded into an ID no lookup finds (and a rotation's cursor could revisit it), and
// a negative version into version 2^32-1.
#include <sqlite3.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "catalog/sqlite_catalog.h"
#include "tests/support/test_token.h"

namespace keyward::hierarchy {
namespace {

struct DamagedRow {
  const char* what;
  const char* values;  // dek_id, scope, kek_family, kek_version, wrapped, state, created, updated
  bool active = true;             // active_dek selects it
  bool below_target = true;       // a rewrap batch to version 9 selects it (SQLite orders integers and text before blobs)
};

class DamagedRows : public ::testing::TestWithParam<DamagedRow> {};

TEST_P(DamagedRows, AreRefusedAsCorruptInputByEveryReader) {
  const std::string path = keyward::testing::scratch_dir("catalogs") + "/damaged-" + std::to_string(::getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  auto catalog = SqliteCatalog::open(path);
  ASSERT_TRUE(catalog) << catalog.error().message;

  // Another writer (a foreign tool, a damaged page) leaves the row; CHECK constraints do not hold it back.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const std::string insert = std::string("PRAGMA ignore_check_constraints = ON; INSERT INTO deks (dek_id, scope, kek_family, "
                                         "kek_version, wrapped, state, created, updated) VALUES (") + GetParam().values + ")";
  ASSERT_EQ(sqlite3_exec(db, insert.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);

  auto by_scope = (*catalog)->deks_for_scope("tenant");
  ASSERT_FALSE(by_scope) << GetParam().what;
  EXPECT_EQ(by_scope.error().category, ErrorCategory::corrupt_input);
  EXPECT_NE(by_scope.error().message.find("restore the catalog from a backup"), std::string::npos);
  auto active = (*catalog)->active_dek("tenant");
  if (GetParam().active) {
    ASSERT_FALSE(active) << GetParam().what;
    EXPECT_EQ(active.error().category, ErrorCategory::corrupt_input);
  }
  auto batch = (*catalog)->next_rewrap_batch("payments", 9, envelope::DekId{}, 10);
  if (GetParam().below_target) {
    ASSERT_FALSE(batch) << GetParam().what;
    EXPECT_EQ(batch.error().category, ErrorCategory::corrupt_input);
  } else {
    EXPECT_TRUE(batch && batch->empty()) << GetParam().what << ": not selected, so not read";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Catalog, DamagedRows,
    ::testing::Values(
        DamagedRow{"a 15-byte ID", "x'000102030405060708090a0b0c0d0e', 'tenant', 'payments', 1, zeroblob(40), 'active', 0, 0"},
        DamagedRow{"a 17-byte ID", "x'000102030405060708090a0b0c0d0e0f10', 'tenant', 'payments', 1, zeroblob(40), 'active', 0, 0"},
        DamagedRow{"an integer ID", "12345, 'tenant', 'payments', 1, zeroblob(40), 'active', 0, 0", true, false},
        DamagedRow{"a text ID of 16 bytes", "'0123456789abcdef', 'tenant', 'payments', 1, zeroblob(40), 'active', 0, 0", true,
                   false},
        DamagedRow{"a negative version", "x'000102030405060708090a0b0c0d0e0f', 'tenant', 'payments', -1, zeroblob(40), 'active', 0, 0"},
        DamagedRow{"a version above 2^32-1",
                   "x'000102030405060708090a0b0c0d0e0f', 'tenant', 'payments', 4294967297, zeroblob(40), 'active', 0, 0", true, false},
        DamagedRow{"a text version", "x'000102030405060708090a0b0c0d0e0f', 'tenant', 'payments', 'one', zeroblob(40), 'active', 0, 0", true, false},
        DamagedRow{"an unknown state", "x'000102030405060708090a0b0c0d0e0f', 'tenant', 'payments', 1, zeroblob(40), 'actve', 0, 0", false, true}));

// The same for KEK version rows: retire and the rotation read a version's state from them, so a
// damaged one must not read as decrypt-only (what an unknown state used to become) or as another version.
class DamagedKekVersionRows : public ::testing::TestWithParam<const char*> {};

TEST_P(DamagedKekVersionRows, AreRefusedAsCorruptInput) {
  const std::string path = keyward::testing::scratch_dir("catalogs") + "/damaged-kek-" + std::to_string(::getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  auto catalog = SqliteCatalog::open(path);
  ASSERT_TRUE(catalog) << catalog.error().message;
  ASSERT_TRUE((*catalog)->set_kek_version({"payments", 1, KekState::active, 0, 0}));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const std::string insert = std::string("PRAGMA ignore_check_constraints = ON; INSERT INTO kek_versions (family, version, "
                                         "state, created, retired) VALUES (") + GetParam() + ")";
  ASSERT_EQ(sqlite3_exec(db, insert.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
  auto versions = (*catalog)->kek_versions("payments");
  ASSERT_FALSE(versions) << GetParam();
  EXPECT_EQ(versions.error().category, ErrorCategory::corrupt_input);
  EXPECT_NE(versions.error().message.find("restore the catalog from a backup"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Catalog, DamagedKekVersionRows,
                         ::testing::Values("'payments', 2, 'retird', 0, 0", "'payments', 0, 'active', 0, 0",
                                           "'payments', -3, 'decrypt-only', 0, 0", "'payments', 4294967298, 'active', 0, 0",
                                           "'payments', 'two', 'active', 0, 0"));

}  // namespace
}  // namespace keyward::hierarchy
