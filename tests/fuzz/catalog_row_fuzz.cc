// Catalog rows (catalog/sqlite_catalog.h) as a damaged or hostile database file holds them: the input
// describes rows of deks, kek_versions, rotations and rotation_runs whose columns may hold any SQLite
// type (the tables are not STRICT; CHECK constraints are off for the writer, as a foreign tool's
// write could leave them). The catalog then reads them through its interface.
// Properties: never crashes; every DEK record the catalog returns is found again by its own ID with
// the same fields (a row's ID decodes to the ID it is stored under); a rewrap batch holds only DEKs of
// the family below the target; walking the batches with their cursor ends and visits each DEK once;
// a read that fails is corrupt_input or io, never a crash or a wrong record.
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "catalog/sqlite_catalog.h"
#include "tests/fuzz/fuzz_target.h"

using namespace keyward;
using hierarchy::DekRecord;

namespace {

constexpr const char* kFamily = "payments";
constexpr std::uint32_t kTarget = 5;

// Reads typed column values from the input: a tag byte, then the value.
class ValueReader {
 public:
  ValueReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool done() const { return at_ >= size_; }
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  // Binds the next value to `statement`'s parameter `index`; `plausible` is a valid value for the column.
  void bind(sqlite3_stmt* statement, int index, const std::function<void(sqlite3_stmt*, int, std::uint8_t)>& plausible) {
    const std::uint8_t tag = byte();
    switch (tag % 5) {
      case 0: {
        std::uint64_t value = 0;
        for (int i = 0; i < 8; ++i) value = value << 8 | byte();
        sqlite3_bind_int64(statement, index, static_cast<sqlite3_int64>(value));
        break;
      }
      case 1:
      case 2: {
        const std::size_t wanted = byte() % 64;  // first: byte() advances at_
        const std::size_t length = std::min<std::size_t>(wanted, size_ - std::min(at_, size_));
        if (tag % 5 == 1)
          sqlite3_bind_text(statement, index, reinterpret_cast<const char*>(data_ + at_), static_cast<int>(length), SQLITE_TRANSIENT);
        else
          sqlite3_bind_blob(statement, index, data_ + at_, static_cast<int>(length), SQLITE_TRANSIENT);
        at_ += length;
        break;
      }
      case 3: sqlite3_bind_double(statement, index, static_cast<double>(static_cast<std::int8_t>(byte())) / 3.0); break;
      default: plausible(statement, index, byte());
    }
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

void id_of(sqlite3_stmt* s, int i, std::uint8_t b) {
  envelope::DekId id{};
  id.fill(b);
  sqlite3_bind_blob(s, i, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
}
void scope_of(sqlite3_stmt* s, int i, std::uint8_t b) { sqlite3_bind_text(s, i, b % 2 ? "tenant-1" : "tenant-2", -1, SQLITE_STATIC); }
void family_of(sqlite3_stmt* s, int i, std::uint8_t b) { sqlite3_bind_text(s, i, b % 4 ? kFamily : "other", -1, SQLITE_STATIC); }
void version_of(sqlite3_stmt* s, int i, std::uint8_t b) { sqlite3_bind_int64(s, i, b % 8); }
void wrapped_of(sqlite3_stmt* s, int i, std::uint8_t b) {
  std::vector<std::uint8_t> wrapped(40, b);
  sqlite3_bind_blob(s, i, wrapped.data(), 40, SQLITE_TRANSIENT);
}
void dek_state_of(sqlite3_stmt* s, int i, std::uint8_t b) { sqlite3_bind_text(s, i, b % 2 ? "active" : "superseded", -1, SQLITE_STATIC); }
void kek_state_of(sqlite3_stmt* s, int i, std::uint8_t b) {
  static const char* states[] = {"active", "decrypt-only", "retired"};
  sqlite3_bind_text(s, i, states[b % 3], -1, SQLITE_STATIC);
}
void time_of(sqlite3_stmt* s, int i, std::uint8_t b) { sqlite3_bind_int64(s, i, 1764547200 + b); }
void outcome_of(sqlite3_stmt* s, int i, std::uint8_t b) {
  static const char* outcomes[] = {"running", "complete", "incomplete"};
  sqlite3_bind_text(s, i, outcomes[b % 3], -1, SQLITE_STATIC);
}
void text_of(sqlite3_stmt* s, int i, std::uint8_t) { sqlite3_bind_text(s, i, "", -1, SQLITE_STATIC); }

using Plausible = void (*)(sqlite3_stmt*, int, std::uint8_t);
struct Table {
  const char* insert;
  std::vector<Plausible> columns;
};
const Table kTables[] = {
    {"INSERT OR IGNORE INTO deks (dek_id, scope, kek_family, kek_version, wrapped, state, created, updated) "
     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
     {id_of, scope_of, family_of, version_of, wrapped_of, dek_state_of, time_of, time_of}},
    {"INSERT OR IGNORE INTO kek_versions (family, version, state, created, retired) VALUES (?, ?, ?, ?, ?)",
     {family_of, version_of, kek_state_of, time_of, time_of}},
    {"INSERT OR IGNORE INTO rotations (family, target_version, started, finished) VALUES (?, ?, ?, ?)",
     {family_of, version_of, time_of, time_of}},
    {"INSERT OR IGNORE INTO rotation_runs (family, target_version, started, finished, outcome, catalog_complete, reason) "
     "VALUES (?, ?, ?, ?, ?, ?, ?)",
     {family_of, version_of, time_of, time_of, outcome_of, version_of, text_of}},
};

// One catalog for the whole run, on a RAM disk when there is one (every input rewrites its rows).
struct Fixture {
  std::string dir, path;
  sqlite3* writer = nullptr;
  std::unique_ptr<hierarchy::SqliteCatalog> catalog;
  Fixture() {
    const char* base = std::getenv("TMPDIR");
    std::string root = base && *base ? base : std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string pattern = root + "/keyward-catalog-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    dir = pattern;
    path = dir + "/catalog.db";
    auto opened = hierarchy::SqliteCatalog::open(path);
    if (!opened) std::abort();
    catalog = std::move(*opened);
    if (sqlite3_open(path.c_str(), &writer) != SQLITE_OK) std::abort();
    sqlite3_busy_timeout(writer, 10'000);
    sqlite3_exec(writer, "PRAGMA ignore_check_constraints = ON; PRAGMA synchronous = OFF", nullptr, nullptr, nullptr);
  }
  ~Fixture() {
    sqlite3_close(writer);
    catalog.reset();
    std::filesystem::remove_all(dir);
  }
};

Fixture& fixture() {
  static Fixture instance;
  return instance;
}

bool expected_failure(const Error& error) {
  return error.category == ErrorCategory::corrupt_input || error.category == ErrorCategory::io;
}

bool same(const DekRecord& a, const DekRecord& b) {
  return a.dek_id == b.dek_id && a.scope == b.scope && a.kek_family == b.kek_family && a.kek_version == b.kek_version &&
         a.wrapped == b.wrapped && a.state == b.state && a.created == b.created && a.updated == b.updated;
}

void check_found_by_id(hierarchy::Catalog& catalog, const DekRecord& record) {
  auto found = catalog.find_dek(record.dek_id);
  FUZZ_CHECK(found || expected_failure(found.error()));
  if (found) FUZZ_CHECK(found->has_value() && same(**found, record));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& fixture = ::fixture();
  sqlite3_exec(fixture.writer,
               "BEGIN; DELETE FROM deks; DELETE FROM kek_versions; DELETE FROM rotations; DELETE FROM run_files; "
               "DELETE FROM run_paths; DELETE FROM rotation_runs",
               nullptr, nullptr, nullptr);
  ValueReader reader(data, size);
  std::size_t deks = 0;
  for (int row = 0; row < 12 && !reader.done(); ++row) {
    const std::uint8_t table_index = reader.byte() % 4;
    const Table& table = kTables[table_index];
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(fixture.writer, table.insert, -1, &statement, nullptr) != SQLITE_OK) std::abort();
    for (std::size_t c = 0; c < table.columns.size(); ++c) reader.bind(statement, static_cast<int>(c + 1), table.columns[c]);
    if (sqlite3_step(statement) == SQLITE_DONE && table_index == 0) deks += static_cast<std::size_t>(sqlite3_changes(fixture.writer));
    sqlite3_finalize(statement);
  }
  sqlite3_exec(fixture.writer, "COMMIT", nullptr, nullptr, nullptr);

  auto& catalog = *fixture.catalog;
  for (const char* scope : {"tenant-1", "tenant-2"}) {
    auto records = catalog.deks_for_scope(scope);
    FUZZ_CHECK(records || expected_failure(records.error()));
    if (records) {
      for (const auto& record : *records) {
        FUZZ_CHECK(record.scope == scope);
        check_found_by_id(catalog, record);
      }
    }
    auto active = catalog.active_dek(scope);
    FUZZ_CHECK(active || expected_failure(active.error()));
    if (active && *active) FUZZ_CHECK((*active)->state == hierarchy::DekState::active && (*active)->scope == scope);
  }

  // The rotation's walk: batches of 2 after the last ID seen, until an empty batch.
  std::set<envelope::DekId> seen;
  envelope::DekId after{};
  for (std::size_t walks = 0;; ++walks) {
    FUZZ_CHECK(walks <= deks + 1);
    auto batch = catalog.next_rewrap_batch(kFamily, kTarget, after, 2);
    FUZZ_CHECK(batch || expected_failure(batch.error()));
    if (!batch || batch->empty()) break;
    for (const auto& record : *batch) {
      FUZZ_CHECK(record.kek_family == kFamily && record.kek_version < kTarget);
      FUZZ_CHECK(seen.insert(record.dek_id).second);
      check_found_by_id(catalog, record);
      after = record.dek_id;
    }
  }

  auto versions = catalog.kek_versions(kFamily);
  FUZZ_CHECK(versions || expected_failure(versions.error()));
  if (versions) {
    for (const auto& version : *versions) FUZZ_CHECK(version.family == kFamily);
  }
  auto counts = catalog.count_by_version(kFamily);
  FUZZ_CHECK(counts || expected_failure(counts.error()));
  auto rotation = catalog.rotation(kFamily);
  FUZZ_CHECK(rotation || expected_failure(rotation.error()));
  auto runs = catalog.runs(kFamily, 10);
  FUZZ_CHECK(runs || expected_failure(runs.error()));
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  // Plausible rows only (tag 4 for every column): two DEKs of the family, one of another, a KEK version,
  // a rotation and a run.
  auto row = [](std::uint8_t table, std::vector<std::uint8_t> choices) {
    std::vector<std::uint8_t> bytes{table};
    for (auto choice : choices) {
      bytes.push_back(4);
      bytes.push_back(choice);
    }
    return bytes;
  };
  std::vector<std::uint8_t> seed;
  for (const auto& r : {row(0, {1, 1, 1, 1, 1, 1, 0, 0}), row(0, {2, 1, 1, 2, 2, 0, 1, 1}), row(0, {3, 0, 0, 3, 3, 1, 2, 2}),
                        row(1, {1, 1, 0, 0, 0}), row(2, {1, 5, 0, 0}), row(3, {1, 5, 0, 0, 2, 0, 0})})
    seed.insert(seed.end(), r.begin(), r.end());
  return {seed};
}
