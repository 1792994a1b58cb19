// PostgresCatalog: the catalog in a PostgreSQL database, through libpq, for many hosts sharing one set
// of keys. Same schema versions as SqliteCatalog (postgres_schema.cc), every statement prepared,
// every write one transaction.
//
// Isolation: READ COMMITTED plus explicit locks, the equivalent of SQLite's one writer where it
// matters. A transaction that adds a DEK takes a transaction-scoped advisory lock on its scope
// (exclusive: concurrent first uses of a scope queue, and the second finds the first's DEK) and one
// on its KEK family (shared); retire and KEK version changes take the family's lock exclusively, so a
// DEK is either committed before retire looks, or refused after. Shred takes the scope's lock.
// Rotation batches are claimed with SELECT … FOR UPDATE SKIP LOCKED (claim_rewrap_batch) and released
// by the commit that carries their rewrapped DEKs; a killed process's claim returns to the pool when
// the server sees its connection close.
//
// Errors name the database by printable_catalog_location (no password, no query secrets). A server
// that cannot be reached, or a connection lost, is ErrorCategory::database (exit 3); nothing is half
// written (the open transaction is rolled back by the server).
// One PostgresCatalog is one connection: one thread at a time (LockedCatalog shares it).
#pragma once

#include <memory>
#include <string>

#include "catalog/catalog.h"

namespace keyward::hierarchy {

namespace pg {
class Connection;
class Rows;
class Params;
}  // namespace pg

class PostgresCatalog : public Catalog {
 public:
  struct Options {
    bool read_only = false;  // readers: no migration; writes fail with io
  };
  // Connects to `uri` (libpq connection URI, no password in it: catalog_location.h) and migrates the
  // schema to the current version (unless read-only). Errors: database (unreachable), usage (a schema
  // newer than this keyward), io.
  static Result<std::unique_ptr<PostgresCatalog>> open(const std::string& uri, const Options& options);
  ~PostgresCatalog() override;

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
  bool claims_rewrap_batches() const override { return !read_only_; }
  Result<std::unique_ptr<RewrapClaim>> claim_rewrap_batch(const std::string& family, std::uint32_t target,
                                                          std::size_t limit, std::int64_t run_id) override;
  Status set_rotation(const RotationRecord& record) override;
  Result<std::optional<RotationRecord>> rotation(const std::string& family) override;
  Status record_file_references(const std::vector<FileReference>& references) override;
  Result<std::uint64_t> references_to(const std::string& family, std::uint32_t version) override;
  Result<std::int64_t> begin_run(const std::string& family, std::uint32_t target, const std::vector<std::string>& paths) override;
  Status record_run_file(const std::vector<std::int64_t>& run_ids, const RunFile& file) override;
  Status finish_run(std::int64_t run_id, bool catalog_complete, RunOutcome outcome, const std::string& reason) override;
  Result<std::vector<RunRecord>> runs(const std::string& family, std::size_t limit) override;
  Result<std::vector<RunFile>> run_files(std::int64_t run_id, FileOutcome outcome, std::size_t limit) override;
  Status retire_if(const std::string& family, std::uint32_t version,
                   const std::function<Status(const RetireFacts&)>& decide) override;
  Result<std::size_t> shred_scope(const std::string& scope, const std::string& reason) override;
  Result<bool> is_shredded(const std::string& scope) override;
  Result<bool> is_dek_shredded(const envelope::DekId& dek_id) override;
  // PostgreSQL keeps deleted rows until VACUUM, and in its WAL, replicas and backups, none of which
  // keyward can read: runs VACUUM on the tables that held them and reports the server as a residue
  // with what the operator must do.
  Result<std::vector<Residue>> purge_copies(const std::vector<std::vector<std::uint8_t>>& secrets) override;

  // The schema version this keyward writes (the same number as SqliteCatalog's).
  static int schema_version();
  // Test hook: fail apply_rewraps and claim commits after this many updates (inside the transaction).
  void fail_rewraps_after_for_test(std::size_t updates) { fail_after_ = updates; }

 private:
  class Claim;
  PostgresCatalog(std::unique_ptr<pg::Connection> connection, bool read_only);
  Status migrate();
  Status check_schema_read_only();
  // Runs `body` in a READ COMMITTED transaction: COMMIT if it succeeds, ROLLBACK otherwise.
  Status in_transaction(const std::function<Status()>& body);
  Status lock_scope(const std::string& scope);
  Status lock_family(const std::string& family, bool exclusive);
  Status insert_dek_locked(const DekRecord& record);
  Result<bool> kek_version_is_current(const std::string& family, std::uint32_t version);
  Result<std::size_t> update_rewraps(const std::vector<Rewrap>& rewraps);
  Result<std::vector<DekRecord>> dek_query(const char* sql, const pg::Params& params, const char* what);
  Status fill_run_details(RunRecord& run);
  Status set_kek_version_locked(const KekVersionRecord& record);

  std::unique_ptr<pg::Connection> db_;
  bool read_only_ = false;
  std::size_t fail_after_ = static_cast<std::size_t>(-1);
};

}  // namespace keyward::hierarchy
