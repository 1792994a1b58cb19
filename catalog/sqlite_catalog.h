// SqliteCatalog: the embedded catalog. WAL mode with synchronous=FULL (a lost rewrap is a lost key),
// a busy timeout so several processes (rotation workers, readers) share one file, prepared
// statements, a schema version with migrations, and the database file created with mode 0600.
// One SqliteCatalog is one connection: use one per thread or process.
//
// Read-only catalogs (a file or directory this process may not write, a read-only mount): open()
// falls back to a read-only connection, and open_read_only() asks for one. Measured with SQLite
// 3.40: a read-only connection reads a WAL catalog while its -wal and -shm files exist (a writer
// is or was active) and sees the writer's committed transactions in the -wal, as long as those
// files are readable; where they do not exist and cannot be created (a read-only mount after the
// last writer closed) SQLite cannot open it, and keyward reads the file alone as immutable. No migration runs read-only: an older schema is read as it is (every schema
// since v2 has the columns readers use); writes fail with a clear io error.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "catalog/catalog.h"

struct sqlite3;
struct sqlite3_stmt;

namespace keyward::hierarchy {

class SqliteCatalog : public Catalog {
 public:
  // Opens (creating if needed) the catalog at `path`. Errors: io, naming SQLite's message.
  // Read-only when the file or its directory is not writable by this process (EACCES, EROFS).
  static Result<std::unique_ptr<SqliteCatalog>> open(const std::string& path);
  // A read-only connection to an existing catalog (decrypting readers need no more).
  static Result<std::unique_ptr<SqliteCatalog>> open_read_only(const std::string& path);
  ~SqliteCatalog() override;

  bool writable() const override { return !read_only_; }
  Status create_dek(const DekRecord& record) override;
  Result<FirstDek> create_first_dek(const DekRecord& record) override;
  Status create_deks(const std::vector<DekRecord>& records) override;
  Result<std::optional<DekRecord>> find_dek(const envelope::DekId& dek_id) override;
  Result<std::optional<DekRecord>> active_dek(const std::string& scope) override;
  Result<std::vector<DekRecord>> deks_for_scope(const std::string& scope) override;
  Status set_dek_state(const envelope::DekId& dek_id, DekState state) override;
  Status set_kek_version(const KekVersionRecord& record) override;
  Result<std::vector<KekVersionRecord>> kek_versions(const std::string& family) override;
  Result<std::vector<DekRecord>> next_rewrap_batch(const std::string& family, std::uint32_t target,
                                                   const envelope::DekId& after, std::size_t limit,
                                                   const envelope::DekId& before = max_dek_id()) override;
  Result<std::size_t> apply_rewraps(const std::vector<Rewrap>& rewraps) override;
  Result<std::map<std::uint32_t, std::uint64_t>> count_by_version(const std::string& family) override;
  Status set_rotation(const RotationRecord& record) override;
  Result<std::optional<RotationRecord>> rotation(const std::string& family) override;
  Status record_file_references(const std::vector<FileReference>& references) override;
  Result<std::uint64_t> references_to(const std::string& family, std::uint32_t version) override;
  Result<std::size_t> shred_scope(const std::string& scope, const std::string& reason) override;
  Result<bool> is_shredded(const std::string& scope) override;
  Result<bool> is_dek_shredded(const envelope::DekId& dek_id) override;
  Result<std::vector<Residue>> purge_copies(const std::vector<std::vector<std::uint8_t>>& secrets) override;
  Result<std::int64_t> begin_run(const std::string& family, std::uint32_t target, const std::vector<std::string>& paths) override;
  Status record_run_file(const std::vector<std::int64_t>& run_ids, const RunFile& file) override;
  Status finish_run(std::int64_t run_id, bool catalog_complete, RunOutcome outcome, const std::string& reason) override;
  Result<std::vector<RunRecord>> runs(const std::string& family, std::size_t limit) override;
  Result<std::vector<RunFile>> run_files(std::int64_t run_id, FileOutcome outcome, std::size_t limit) override;
  Status retire_if(const std::string& family, std::uint32_t version,
                   const std::function<Status(const RetireFacts&)>& decide) override;

  // Test hook: fail apply_rewraps after this many updates (inside the transaction).
  void fail_rewraps_after_for_test(std::size_t updates) { fail_after_ = updates; }

 private:
  class Statement;
  SqliteCatalog(sqlite3* db, std::string path, bool read_only) : db_(db), path_(std::move(path)), read_only_(read_only) {}
  static Result<std::unique_ptr<SqliteCatalog>> open_connection(const std::string& path, bool read_only);
  static Result<std::unique_ptr<SqliteCatalog>> open_connection_as(const std::string& path, const std::string& name,
                                                                    int open_flags, bool read_only);
  Status exec(const char* sql);
  Result<Statement> prepare(const char* sql);
  Error sqlite_error(const std::string& what) const;
  Status migrate();
  Status check_schema_read_only();
  Status insert_dek_locked(const DekRecord& record);
  // True when (family, version) is the family's current KEK version as far as kek_versions knows.
  Result<bool> kek_version_is_current(const std::string& family, std::uint32_t version);
  // Runs `body` in a BEGIN IMMEDIATE transaction: COMMIT if it succeeds, ROLLBACK otherwise.
  Status in_write_transaction(const std::function<Status()>& body);
  Result<RunRecord> run_from_row(Statement& row);
  Status fill_run_details(RunRecord& run);  // paths and file counts
  Status record_run_file_locked(const std::vector<std::int64_t>& run_ids, const RunFile& file);
  // Checkpoints the WAL with TRUNCATE; returns the frames left in it (0: truncated).
  Result<std::int64_t> truncate_wal();

  sqlite3* db_;
  std::string path_;
  bool read_only_ = false;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;  // prepared once, reused
  std::size_t fail_after_ = static_cast<std::size_t>(-1);
};

}  // namespace keyward::hierarchy
