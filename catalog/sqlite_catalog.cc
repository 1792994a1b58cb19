#include "catalog/sqlite_catalog.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "catalog/internal/catalog_text.h"
#include "catalog/key_removals.h"
#include "catalog/sqlite_statement.h"

namespace keyward::hierarchy {
namespace {

constexpr int kSchemaVersion = 5;

using internal::dek_state_name;
using internal::now_seconds;

}  // namespace

const char* kek_state_name(KekState state) {
  switch (state) {
    case KekState::active: return "active";
    case KekState::decrypt_only: return "decrypt-only";
    case KekState::retired: return "retired";
  }
  return "unknown";
}

namespace {

constexpr const char* kDekColumns = "dek_id, scope, kek_family, kek_version, wrapped, state, created, updated";

// A deks row as the catalog writes it, else corrupt_input: a damaged row (or one another tool wrote)
// must not decode into another DEK's ID or another KEK version. Found by
// tests/fuzz/catalog_row_fuzz.cc: a dek_id of another type or length decoded, zero-padded, to an ID
// no lookup finds, and a negative kek_version to version 2^32-1.
template <class Row>
Result<DekRecord> dek_from(const Row& row, const std::string& catalog_path) {
  DekRecord record;
  const bool id_is_blob = row.type(0) == SQLITE_BLOB, version_is_integer = row.type(3) == SQLITE_INTEGER;
  auto id = row.blob(0);
  const std::int64_t version = row.integer(3);
  const std::string state = row.text(5);
  if (!id_is_blob || id.size() != record.dek_id.size() || !version_is_integer || version < 0 || version > UINT32_MAX ||
      (state != "active" && state != "superseded"))
    return make_error(ErrorCategory::corrupt_input, "catalog '" + catalog_path +
                                                        "': a DEK row is damaged (its ID is not 16 bytes, its KEK version "
                                                        "not a 32-bit number, or its state unknown); restore the catalog from a backup");
  std::memcpy(record.dek_id.data(), id.data(), record.dek_id.size());
  record.scope = row.text(1);
  record.kek_family = row.text(2);
  record.kek_version = static_cast<std::uint32_t>(version);
  record.wrapped = row.blob(4);
  record.state = state == "active" ? DekState::active : DekState::superseded;
  record.created = row.integer(6);
  record.updated = row.integer(7);
  return record;
}

}  // namespace

Error SqliteCatalog::sqlite_error(const std::string& what) const {
  const int code = sqlite3_errcode(db_);
  std::string message = "catalog '" + path_ + "': " + what + ": " + sqlite3_errmsg(db_);
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
    message += " — another process holds the catalog (a keyward-rotate run?); retry when it is done";
  if (code == SQLITE_READONLY || read_only_)
    message += " — the catalog is read-only to this process (file or directory mode, or a read-only mount): "
               "reading works, recording a new DEK needs write access";
  return Error{ErrorCategory::io, std::move(message), std::nullopt};
}

Result<std::unique_ptr<SqliteCatalog>> SqliteCatalog::open(const std::string& path) {
  // Create the file 0600 ourselves: SQLite would use the umask.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM) && ::access(path.c_str(), R_OK) == 0)
    return open_connection(path, true);  // it exists and we may read it: a reader needs no more
  if (fd < 0) return make_error(ErrorCategory::io, "cannot open catalog '" + path + "': " + std::strerror(errno));
  ::close(fd);
  // A writable file in a directory we cannot write: SQLite could not create the -wal file.
  const auto slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (::access(directory.c_str(), W_OK) != 0 && ::access((path + "-wal").c_str(), F_OK) != 0)
    return open_connection(path, true);
  return open_connection(path, false);
}

Result<std::unique_ptr<SqliteCatalog>> SqliteCatalog::open_read_only(const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0)
    return make_error(ErrorCategory::io, "cannot open catalog '" + path + "': " + std::strerror(errno));
  return open_connection(path, true);
}

namespace {

// An RFC 8089 file: URI for SQLite (https://sqlite.org/uri.html): '%', '?' and '#' escaped.
std::string immutable_uri(const std::string& path) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[static_cast<unsigned char>(c) >> 4];
      uri += kHex[static_cast<unsigned char>(c) & 15];
    } else {
      uri += c;
    }
  }
  return uri + "?immutable=1";
}

}  // namespace

Result<std::unique_ptr<SqliteCatalog>> SqliteCatalog::open_connection(const std::string& path, bool read_only) {
  if (!read_only) return open_connection_as(path, path, SQLITE_OPEN_READWRITE, false);
  auto catalog = open_connection_as(path, path, SQLITE_OPEN_READONLY, true);
  // SQLite reads a read-only WAL database only if its -wal and -shm exist or can be created
  // (https://sqlite.org/wal.html#readonly). On a read-only mount after the last writer closed,
  // neither exists nor can be: measured, SQLITE_CANTOPEN. With no -wal file there is no WAL
  // content and no writer (a writer holds the -wal open), so the database file alone is the
  // catalog: read it as immutable.
  if (!catalog && ::access((path + "-wal").c_str(), F_OK) != 0 && errno == ENOENT)
    return open_connection_as(path, immutable_uri(path), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, true);
  return catalog;
}

Result<std::unique_ptr<SqliteCatalog>> SqliteCatalog::open_connection_as(const std::string& path, const std::string& name,
                                                                         int open_flags, bool read_only) {
  sqlite3* db = nullptr;
  const int flags = open_flags | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(name.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error(ErrorCategory::io, "cannot open catalog '" + path + "': " + message);
  }
  std::unique_ptr<SqliteCatalog> catalog(new SqliteCatalog(db, path, read_only));
  sqlite3_busy_timeout(db, 30'000);
  if (read_only) {
    // journal_mode=WAL is a write; a WAL catalog stays WAL (the mode is in the file header).
    KW_TRY(catalog->exec("PRAGMA foreign_keys=ON"));
    KW_TRY(catalog->check_schema_read_only());
    return catalog;
  }
  KW_TRY(catalog->exec("PRAGMA journal_mode=WAL"));
  KW_TRY(catalog->exec("PRAGMA synchronous=FULL"));
  KW_TRY(catalog->exec("PRAGMA foreign_keys=ON"));
  // Deleted rows are overwritten with zeros: a shredded scope's wrapped DEKs do not linger on free pages.
  KW_TRY(catalog->exec("PRAGMA secure_delete=ON"));
  KW_TRY(catalog->migrate());
  return catalog;
}

Status SqliteCatalog::check_schema_read_only() {
  auto query = prepare("SELECT version FROM schema_version");
  if (!query) return make_error(ErrorCategory::io, "catalog '" + path_ + "' is read-only and not a keyward catalog (no schema_version): " +
                                                       query.error().message);
  const int rc = query->step();
  if (rc != SQLITE_ROW) return fail(sqlite_error("reading the schema version"));
  const int current = static_cast<int>(query->integer(0));
  if (current > kSchemaVersion)
    return make_error(ErrorCategory::usage, "catalog '" + path_ + "' has schema version " + std::to_string(current) +
                                                ", newer than this keyward understands (" + std::to_string(kSchemaVersion) + ")");
  if (current < 2)
    return make_error(ErrorCategory::io, "catalog '" + path_ + "' has schema version " + std::to_string(current) +
                                             " and is read-only: open it once with write access to migrate it");
  return {};
}

SqliteCatalog::~SqliteCatalog() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Status SqliteCatalog::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return fail(Error{ErrorCategory::io, "catalog '" + path_ + "': " + text, std::nullopt});
  }
  return {};
}

Result<SqliteCatalog::Statement> SqliteCatalog::prepare(const char* sql) {
  auto& stmt = statements_[sql];
  if (stmt == nullptr && sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    stmt = nullptr;
    return fail(sqlite_error("preparing a statement"));
  }
  return Statement(stmt);
}

Status SqliteCatalog::migrate() {
  KW_TRY(exec("BEGIN IMMEDIATE"));
  auto migrated = [&]() -> Status {
    KW_TRY(exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
    KW_ASSIGN_OR_RETURN(auto read, prepare("SELECT version FROM schema_version"));
    const int current = read.step() == SQLITE_ROW ? static_cast<int>(read.integer(0)) : 0;
    read.reset();  // an active statement would block DROP TABLE below
    if (current > kSchemaVersion)
      return make_error(ErrorCategory::usage, "catalog '" + path_ + "' has schema version " + std::to_string(current) +
                                                  ", newer than this keyward understands (" + std::to_string(kSchemaVersion) + ")");
    if (current < 1) {
      KW_TRY(exec(
          "CREATE TABLE kek_versions (family TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL "
          "  CHECK (state IN ('active','decrypt-only','retired')), created INTEGER NOT NULL, retired INTEGER NOT NULL DEFAULT 0,"
          "  PRIMARY KEY (family, version));"
          "CREATE TABLE deks (dek_id BLOB PRIMARY KEY, scope TEXT NOT NULL, kek_family TEXT NOT NULL, kek_version INTEGER NOT NULL,"
          "  wrapped BLOB NOT NULL, state TEXT NOT NULL CHECK (state IN ('active','superseded')),"
          "  created INTEGER NOT NULL, updated INTEGER NOT NULL);"
          "CREATE INDEX deks_by_scope ON deks (scope, state);"
          "CREATE INDEX deks_by_kek ON deks (kek_family, kek_version, dek_id);"
          "CREATE TABLE tombstones (scope TEXT PRIMARY KEY, shredded INTEGER NOT NULL, reason TEXT NOT NULL);"
          "CREATE TABLE shredded_deks (dek_id BLOB PRIMARY KEY, scope TEXT NOT NULL);"
          "CREATE TABLE file_refs (path TEXT PRIMARY KEY, kek_family TEXT NOT NULL, kek_version INTEGER NOT NULL,"
          "  scanned INTEGER NOT NULL);"
          "CREATE INDEX file_refs_by_kek ON file_refs (kek_family, kek_version);"
          "CREATE TABLE rotations (family TEXT PRIMARY KEY, target_version INTEGER NOT NULL, started INTEGER NOT NULL,"
          "  finished INTEGER NOT NULL DEFAULT 0);"
          "DELETE FROM schema_version; INSERT INTO schema_version VALUES (1);"));
    }
    if (current < 2) {
      // v2: deks clustered by dek_id (WITHOUT ROWID). A rotation walks DEKs in ID order; in a rowid
      // table each update hit a random page and every 1000-row commit wrote ~1000 pages to the WAL.
      KW_TRY(exec(
          "CREATE TABLE deks_v2 (dek_id BLOB PRIMARY KEY, scope TEXT NOT NULL, kek_family TEXT NOT NULL,"
          "  kek_version INTEGER NOT NULL, wrapped BLOB NOT NULL, state TEXT NOT NULL CHECK (state IN ('active','superseded')),"
          "  created INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;"
          "INSERT INTO deks_v2 (dek_id, scope, kek_family, kek_version, wrapped, state, created, updated)"
          "  SELECT dek_id, scope, kek_family, kek_version, wrapped, state, created, updated FROM deks;"
          "DROP TABLE deks;"
          "ALTER TABLE deks_v2 RENAME TO deks;"
          "CREATE INDEX deks_by_scope ON deks (scope, state);"
          "CREATE INDEX deks_by_kek ON deks (kek_family, kek_version, dek_id);"
          "DELETE FROM schema_version; INSERT INTO schema_version VALUES (2);"));
    }
    if (current < 3) {
      // v3: at most one active DEK per scope (two racing first encrypts each inserted one). Rows are
      // kept: where a scope has several active DEKs, all but the newest (the one active_dek() chose,
      // ties broken by DEK ID) become superseded, which still decrypt.
      KW_TRY(exec(
          "UPDATE deks SET state = 'superseded' WHERE state = 'active' AND EXISTS ("
          "  SELECT 1 FROM deks AS newer WHERE newer.scope = deks.scope AND newer.state = 'active' AND"
          "  (newer.created > deks.created OR (newer.created = deks.created AND newer.dek_id > deks.dek_id)));"
          "CREATE UNIQUE INDEX deks_one_active_per_scope ON deks (scope) WHERE state = 'active';"
          "DELETE FROM schema_version; INSERT INTO schema_version VALUES (3);"));
    }
    if (current < 4) {
      // v4: rotation runs with the paths they were given and per-file progress, so retire can require
      // a completed run (docs/ROTATION.md, "Runs"). Only new tables: every existing row stays as it is.
      // (Independent of v3.)
      KW_TRY(exec(
          "CREATE TABLE IF NOT EXISTS rotation_runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, family TEXT NOT NULL,"
          "  target_version INTEGER NOT NULL, started INTEGER NOT NULL, finished INTEGER NOT NULL DEFAULT 0,"
          "  outcome TEXT NOT NULL CHECK (outcome IN ('running','complete','incomplete')),"
          "  catalog_complete INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '');"
          "CREATE INDEX IF NOT EXISTS rotation_runs_by_family ON rotation_runs (family, run_id);"
          "CREATE TABLE IF NOT EXISTS run_paths (run_id INTEGER NOT NULL REFERENCES rotation_runs (run_id), path TEXT NOT NULL,"
          "  PRIMARY KEY (run_id, path)) WITHOUT ROWID;"
          "CREATE TABLE IF NOT EXISTS run_files (run_id INTEGER NOT NULL REFERENCES rotation_runs (run_id), path TEXT NOT NULL,"
          "  outcome TEXT NOT NULL CHECK (outcome IN ('rewrapped','current','failed')), kek_family TEXT NOT NULL,"
          "  kek_version INTEGER NOT NULL, reason TEXT NOT NULL DEFAULT '', recorded INTEGER NOT NULL,"
          "  PRIMARY KEY (run_id, path)) WITHOUT ROWID;"
          "DELETE FROM schema_version; INSERT INTO schema_version VALUES (4);"));
    }
    if (current < 5) {
      // v5: who ran each run (a fleet shares one catalog) and the DEKs its claimed batches rewrapped
      // (PostgreSQL counts them per batch commit; SQLite runs are sharded and leave 0).
      KW_TRY(exec(
          "ALTER TABLE rotation_runs ADD COLUMN host TEXT NOT NULL DEFAULT '';"
          "ALTER TABLE rotation_runs ADD COLUMN deks_rewrapped INTEGER NOT NULL DEFAULT 0;"
          "ALTER TABLE rotation_runs ADD COLUMN rewraps_already_done INTEGER NOT NULL DEFAULT 0;"
          "DELETE FROM schema_version; INSERT INTO schema_version VALUES (5);"));
    }
    return {};
  }();
  if (!migrated) {
    (void)exec("ROLLBACK");
    return migrated;
  }
  return exec("COMMIT");
}

Status SqliteCatalog::insert_dek_locked(const DekRecord& record) {
  KW_ASSIGN_OR_RETURN(bool shredded, is_shredded(record.scope));
  if (shredded)
    return make_error(ErrorCategory::shredded, "scope '" + record.scope + "' was crypto-shredded: its keys are gone for good "
                                                                           "and it cannot be given new ones");
  const auto now = record.created ? record.created : now_seconds();
  if (record.state == DekState::active) {
    // One active DEK per scope (schema v3): the new one supersedes the current one.
    KW_ASSIGN_OR_RETURN(auto supersede, prepare("UPDATE deks SET state = 'superseded', updated = ? WHERE scope = ? AND state = 'active'"));
    supersede.bind(1, now).bind(2, record.scope);
    if (supersede.step() != SQLITE_DONE) return fail(sqlite_error("superseding a scope's active DEK"));
  }
  KW_ASSIGN_OR_RETURN(auto insert, prepare("INSERT INTO deks (dek_id, scope, kek_family, kek_version, wrapped, state, created, "
                                           "updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  insert.bind(1, record.dek_id).bind(2, record.scope).bind(3, record.kek_family).bind(4, std::int64_t{record.kek_version});
  insert.bind(5, record.wrapped).bind(6, dek_state_name(record.state)).bind(7, now).bind(8, now);
  if (insert.step() != SQLITE_DONE) return fail(sqlite_error("inserting a DEK"));
  return {};
}

Result<bool> SqliteCatalog::kek_version_is_current(const std::string& family, std::uint32_t version) {
  // Stale: the version is recorded decrypt-only or retired, or a newer version is recorded. A
  // family the catalog has no versions of (no rotation yet) has nothing to contradict.
  KW_ASSIGN_OR_RETURN(auto query, prepare("SELECT EXISTS (SELECT 1 FROM kek_versions WHERE family = ?1 AND "
                                          "(version > ?2 OR (version = ?2 AND state != 'active')))"));
  query.bind(1, family).bind(2, std::int64_t{version});
  if (query.step() != SQLITE_ROW) return fail(sqlite_error("reading KEK versions"));
  return query.integer(0) == 0;
}

namespace {

Error stale_version_error(const DekRecord& record) {
  return Error{ErrorCategory::policy,
               "KEK " + record.kek_family + " v" + std::to_string(record.kek_version) +
                   " is no longer its family's current version in the catalog (a rotation started or retired it): "
                   "generate the DEK under the newest version",
               std::nullopt};
}

}  // namespace

Status SqliteCatalog::create_deks(const std::vector<DekRecord>& records) {
  KW_TRY(exec("BEGIN IMMEDIATE"));
  for (const auto& record : records) {
    if (auto inserted = insert_dek_locked(record); !inserted) {
      (void)exec("ROLLBACK");
      return inserted;
    }
  }
  return exec("COMMIT");
}

Status SqliteCatalog::create_dek(const DekRecord& record) {
  // BEGIN IMMEDIATE takes the write lock first, so the version check and the insert see one state
  // of kek_versions: a retire (one write transaction, areas contract) is wholly before or after.
  KW_TRY(exec("BEGIN IMMEDIATE"));
  auto created = [&]() -> Status {
    KW_ASSIGN_OR_RETURN(bool current, kek_version_is_current(record.kek_family, record.kek_version));
    if (!current) return fail(stale_version_error(record));
    return insert_dek_locked(record);
  }();
  if (!created) {
    (void)exec("ROLLBACK");
    return created;
  }
  return exec("COMMIT");
}

Result<FirstDek> SqliteCatalog::create_first_dek(const DekRecord& record) {
  KW_TRY(exec("BEGIN IMMEDIATE"));
  auto decided = [&]() -> Result<FirstDek> {
    KW_ASSIGN_OR_RETURN(bool shredded, is_shredded(record.scope));
    if (shredded)
      return make_error(ErrorCategory::shredded, "scope '" + record.scope + "' was crypto-shredded: its keys are gone for good "
                                                                             "and it cannot be given new ones");
    KW_ASSIGN_OR_RETURN(auto existing, active_dek(record.scope));
    if (existing) return FirstDek{FirstDek::Outcome::existing, std::move(existing)};
    KW_ASSIGN_OR_RETURN(bool current, kek_version_is_current(record.kek_family, record.kek_version));
    if (!current) return FirstDek{FirstDek::Outcome::stale_kek_version, std::nullopt};
    DekRecord active = record;
    active.state = DekState::active;
    KW_TRY(insert_dek_locked(active));
    return FirstDek{FirstDek::Outcome::inserted, std::move(active)};
  }();
  if (!decided || decided->outcome != FirstDek::Outcome::inserted) {
    (void)exec("ROLLBACK");
    return decided;
  }
  KW_TRY(exec("COMMIT"));
  return decided;
}

Result<std::optional<DekRecord>> SqliteCatalog::find_dek(const envelope::DekId& dek_id) {
  KW_ASSIGN_OR_RETURN(auto query, prepare("SELECT dek_id, scope, kek_family, kek_version, wrapped, state, created, updated "
                                          "FROM deks WHERE dek_id = ?"));
  query.bind(1, dek_id);
  const int rc = query.step();
  if (rc == SQLITE_ROW) {
    KW_ASSIGN_OR_RETURN(auto record, dek_from(query, path_));
    return std::optional<DekRecord>(std::move(record));
  }
  if (rc != SQLITE_DONE) return fail(sqlite_error("reading a DEK"));
  return std::optional<DekRecord>();
}

Result<std::optional<DekRecord>> SqliteCatalog::active_dek(const std::string& scope) {
  KW_ASSIGN_OR_RETURN(auto query, prepare("SELECT dek_id, scope, kek_family, kek_version, wrapped, state, created, updated "
                                          "FROM deks WHERE scope = ? AND state = 'active' ORDER BY created DESC LIMIT 1"));
  query.bind(1, scope);
  const int rc = query.step();
  if (rc == SQLITE_ROW) {
    KW_ASSIGN_OR_RETURN(auto record, dek_from(query, path_));
    return std::optional<DekRecord>(std::move(record));
  }
  if (rc != SQLITE_DONE) return fail(sqlite_error("reading a scope's DEK"));
  return std::optional<DekRecord>();
}

Result<std::vector<DekRecord>> SqliteCatalog::deks_for_scope(const std::string& scope) {
  KW_ASSIGN_OR_RETURN(auto query, prepare("SELECT dek_id, scope, kek_family, kek_version, wrapped, state, created, updated "
                                          "FROM deks WHERE scope = ? ORDER BY created"));
  query.bind(1, scope);
  std::vector<DekRecord> records;
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) {
    KW_ASSIGN_OR_RETURN(auto record, dek_from(query, path_));
    records.push_back(std::move(record));
  }
  if (rc != SQLITE_DONE) return fail(sqlite_error("listing a scope's DEKs"));
  return records;
}

Status SqliteCatalog::set_dek_state(const envelope::DekId& dek_id, DekState state) {
  KW_ASSIGN_OR_RETURN(auto update, prepare("UPDATE deks SET state = ?, updated = ? WHERE dek_id = ?"));
  update.bind(1, dek_state_name(state)).bind(2, now_seconds()).bind(3, dek_id);
  if (update.step() != SQLITE_DONE) return fail(sqlite_error("updating a DEK"));
  return {};
}

Status SqliteCatalog::set_kek_version(const KekVersionRecord& record) {
  KW_ASSIGN_OR_RETURN(auto upsert, prepare("INSERT INTO kek_versions (family, version, state, created, retired) VALUES (?, ?, ?, ?, ?) "
                                           "ON CONFLICT (family, version) DO UPDATE SET state = excluded.state, retired = excluded.retired"));
  upsert.bind(1, record.family).bind(2, std::int64_t{record.version}).bind(3, kek_state_name(record.state));
  upsert.bind(4, record.created ? record.created : now_seconds()).bind(5, record.retired);
  if (upsert.step() != SQLITE_DONE) return fail(sqlite_error("recording a KEK version"));
  return {};
}

Result<std::vector<KekVersionRecord>> SqliteCatalog::kek_versions(const std::string& family) {
  KW_ASSIGN_OR_RETURN(auto query, prepare("SELECT family, version, state, created, retired FROM kek_versions WHERE family = ? "
                                          "ORDER BY version"));
  query.bind(1, family);
  std::vector<KekVersionRecord> records;
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) {
    KW_ASSIGN_OR_RETURN(auto record, internal::kek_version_from(query.text(0), query.type(1) == SQLITE_INTEGER, query.integer(1),
                                                                query.text(2), query.integer(3), query.integer(4), path_));
    records.push_back(std::move(record));
  }
  if (rc != SQLITE_DONE) return fail(sqlite_error("listing KEK versions"));
  return records;
}

Result<std::vector<DekRecord>> SqliteCatalog::next_rewrap_batch(const std::string& family, std::uint32_t target,
                                                                const envelope::DekId& after, std::size_t limit,
                                                                const envelope::DekId& before) {
  // Walk the primary key from the cursor: the unary + keeps SQLite off deks_by_kek, whose range on
  // kek_version would make it sort every remaining row for each batch (quadratic over a rotation).
  KW_ASSIGN_OR_RETURN(auto query, prepare("SELECT dek_id, scope, kek_family, kek_version, wrapped, state, created, updated "
                                          "FROM deks WHERE +kek_family = ? AND +kek_version < ? AND dek_id > ? AND dek_id < ? "
                                          "ORDER BY dek_id LIMIT ?"));
  query.bind(1, family).bind(2, std::int64_t{target}).bind(3, after).bind(4, before).bind(5, static_cast<std::int64_t>(limit));
  std::vector<DekRecord> records;
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) {
    KW_ASSIGN_OR_RETURN(auto record, dek_from(query, path_));
    records.push_back(std::move(record));
  }
  if (rc != SQLITE_DONE) return fail(sqlite_error("reading a rewrap batch"));
  return records;
}

Result<std::size_t> SqliteCatalog::apply_rewraps(const std::vector<Rewrap>& rewraps) {
  KW_TRY(exec("BEGIN IMMEDIATE"));
  std::size_t applied = 0;
  auto done = [&]() -> Status {
    KW_ASSIGN_OR_RETURN(auto update, prepare("UPDATE deks SET kek_version = ?, wrapped = ?, updated = ? "
                                             "WHERE dek_id = ? AND kek_version = ?"));
    const auto now = now_seconds();
    for (const auto& rewrap : rewraps) {
      if (applied == fail_after_) return make_error(ErrorCategory::io, "injected failure (test hook)");
      update.bind(1, std::int64_t{rewrap.to_version}).bind(2, rewrap.wrapped).bind(3, now).bind(4, rewrap.dek_id);
      update.bind(5, std::int64_t{rewrap.from_version});
      if (update.step() != SQLITE_DONE) return fail(sqlite_error("applying a rewrap"));
      applied += static_cast<std::size_t>(sqlite3_changes(db_));
      update.reset();
    }
    return {};
  }();
  if (!done) {
    (void)exec("ROLLBACK");
    return std::unexpected(done.error());
  }
  KW_TRY(exec("COMMIT"));
  return applied;
}

Result<std::map<std::uint32_t, std::uint64_t>> SqliteCatalog::count_by_version(const std::string& family) {
  KW_ASSIGN_OR_RETURN(auto query, prepare("SELECT kek_version, COUNT(*) FROM deks WHERE kek_family = ? GROUP BY kek_version"));
  query.bind(1, family);
  std::map<std::uint32_t, std::uint64_t> counts;
  int rc;
  while ((rc = query.step()) == SQLITE_ROW)
    counts[static_cast<std::uint32_t>(query.integer(0))] = static_cast<std::uint64_t>(query.integer(1));
  if (rc != SQLITE_DONE) return fail(sqlite_error("counting DEKs"));
  return counts;
}

Status SqliteCatalog::set_rotation(const RotationRecord& record) {
  KW_ASSIGN_OR_RETURN(auto upsert, prepare("INSERT INTO rotations (family, target_version, started, finished) VALUES (?, ?, ?, ?) "
                                           "ON CONFLICT (family) DO UPDATE SET target_version = excluded.target_version, "
                                           "started = excluded.started, finished = excluded.finished"));
  upsert.bind(1, record.family).bind(2, std::int64_t{record.target_version}).bind(3, record.started).bind(4, record.finished);
  if (upsert.step() != SQLITE_DONE) return fail(sqlite_error("recording a rotation"));
  return {};
}

Result<std::optional<RotationRecord>> SqliteCatalog::rotation(const std::string& family) {
  KW_ASSIGN_OR_RETURN(auto query, prepare("SELECT family, target_version, started, finished FROM rotations WHERE family = ?"));
  query.bind(1, family);
  const int rc = query.step();
  if (rc == SQLITE_ROW)
    return std::optional<RotationRecord>(RotationRecord{query.text(0), static_cast<std::uint32_t>(query.integer(1)),
                                                        query.integer(2), query.integer(3)});
  if (rc != SQLITE_DONE) return fail(sqlite_error("reading a rotation"));
  return std::optional<RotationRecord>();
}

Status SqliteCatalog::record_file_references(const std::vector<FileReference>& references) {
  KW_TRY(exec("BEGIN IMMEDIATE"));
  auto done = [&]() -> Status {
    KW_ASSIGN_OR_RETURN(auto upsert, prepare("INSERT INTO file_refs (path, kek_family, kek_version, scanned) VALUES (?, ?, ?, ?) "
                                             "ON CONFLICT (path) DO UPDATE SET kek_family = excluded.kek_family, "
                                             "kek_version = excluded.kek_version, scanned = excluded.scanned"));
    const auto now = now_seconds();
    for (const auto& reference : references) {
      upsert.bind(1, reference.path).bind(2, reference.kek_family).bind(3, std::int64_t{reference.kek_version}).bind(4, now);
      if (upsert.step() != SQLITE_DONE) return fail(sqlite_error("recording a file reference"));
      upsert.reset();
    }
    return {};
  }();
  if (!done) {
    (void)exec("ROLLBACK");
    return done;
  }
  return exec("COMMIT");
}

Result<std::uint64_t> SqliteCatalog::references_to(const std::string& family, std::uint32_t version) {
  KW_ASSIGN_OR_RETURN(auto query, prepare("SELECT (SELECT COUNT(*) FROM deks WHERE kek_family = ?1 AND kek_version = ?2) + "
                                          "(SELECT COUNT(*) FROM file_refs WHERE kek_family = ?1 AND kek_version = ?2)"));
  query.bind(1, family).bind(2, std::int64_t{version});
  if (query.step() != SQLITE_ROW) return fail(sqlite_error("counting references"));
  return static_cast<std::uint64_t>(query.integer(0));
}

Result<std::size_t> SqliteCatalog::shred_scope(const std::string& scope, const std::string& reason) {
  KW_TRY(exec("BEGIN IMMEDIATE"));
  std::size_t destroyed = 0;
  auto done = [&]() -> Status {
    KW_ASSIGN_OR_RETURN(auto remember, prepare("INSERT OR IGNORE INTO shredded_deks (dek_id, scope) SELECT dek_id, scope FROM deks "
                                               "WHERE scope = ?"));
    remember.bind(1, scope);
    if (remember.step() != SQLITE_DONE) return fail(sqlite_error("remembering shredded DEK IDs"));
    KW_ASSIGN_OR_RETURN(auto remove, prepare("DELETE FROM deks WHERE scope = ?"));
    remove.bind(1, scope);
    if (remove.step() != SQLITE_DONE) return fail(sqlite_error("deleting a scope's DEKs"));
    destroyed = static_cast<std::size_t>(sqlite3_changes(db_));
    KW_ASSIGN_OR_RETURN(auto tombstone, prepare("INSERT OR REPLACE INTO tombstones (scope, shredded, reason) VALUES (?, ?, ?)"));
    tombstone.bind(1, scope).bind(2, now_seconds()).bind(3, reason);
    if (tombstone.step() != SQLITE_DONE) return fail(sqlite_error("writing a tombstone"));
    return {};
  }();
  if (!done) {
    (void)exec("ROLLBACK");
    return std::unexpected(done.error());
  }
  KW_TRY(exec("COMMIT"));
  note_key_removal();  // keys derived in this process from the scope's DEKs stop being served now
  return destroyed;
}

Result<bool> SqliteCatalog::is_dek_shredded(const envelope::DekId& dek_id) {
  KW_ASSIGN_OR_RETURN(auto query, prepare("SELECT 1 FROM shredded_deks WHERE dek_id = ?"));
  query.bind(1, dek_id);
  const int rc = query.step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail(sqlite_error("reading shredded DEK IDs"));
  return rc == SQLITE_ROW;
}

Result<bool> SqliteCatalog::is_shredded(const std::string& scope) {
  KW_ASSIGN_OR_RETURN(auto query, prepare("SELECT 1 FROM tombstones WHERE scope = ?"));
  query.bind(1, scope);
  const int rc = query.step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail(sqlite_error("reading tombstones"));
  return rc == SQLITE_ROW;
}

}  // namespace keyward::hierarchy
