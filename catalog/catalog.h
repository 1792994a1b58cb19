// Catalog: where wrapped DEKs live, by scope (tenant / table / column — the caller chooses), with
// KEK versions, shred tombstones and rotation state. One interface, so a server database can replace
// the embedded SQLite one (sqlite_catalog.h). Only ciphertext (wrapped DEKs) is stored.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "envelope/format.h"
#include "base/error.h"

namespace keyward::hierarchy {

enum class DekState { active, superseded };

struct DekRecord {
  envelope::DekId dek_id{};
  std::string scope;
  std::string kek_family;
  std::uint32_t kek_version = 0;
  std::vector<std::uint8_t> wrapped;
  DekState state = DekState::active;
  std::int64_t created = 0, updated = 0;  // Unix seconds
};

// One rewrap to apply: guarded by the version it is expected to have now, so reruns are harmless.
struct Rewrap {
  envelope::DekId dek_id{};
  std::uint32_t from_version = 0, to_version = 0;
  std::vector<std::uint8_t> wrapped;
};

struct FileReference {
  std::string path;
  std::string kek_family;
  std::uint32_t kek_version = 0;
};

enum class KekState { active, decrypt_only, retired };

struct KekVersionRecord {
  std::string family;
  std::uint32_t version = 0;
  KekState state = KekState::active;
  std::int64_t created = 0, retired = 0;
};

struct RotationRecord {
  std::string family;
  std::uint32_t target_version = 0;
  std::int64_t started = 0, finished = 0;  // finished 0: in progress
};

// What create_first_dek did, decided inside one write transaction.
struct FirstDek {
  enum class Outcome {
    inserted,           // the record is now the scope's active DEK
    existing,           // the scope already had an active DEK (another writer won): `active` is it
    stale_kek_version,  // the record's KEK version is not its family's current one: nothing written
  };
  Outcome outcome = Outcome::inserted;
  std::optional<DekRecord> active;  // inserted: the record; existing: the winner
};

// One `keyward-rotate run` of one KEK family (docs/ROTATION.md, "Runs"). A run is complete only when
// the catalog phase left no DEK of the family below the target and every file under every path it
// was given was rewrapped or already current; retire relies on that.
enum class RunOutcome { running, complete, incomplete };
struct RunRecord {
  std::int64_t run_id = 0;
  std::string family;
  std::uint32_t target_version = 0;  // the newest version when the run started
  std::int64_t started = 0, finished = 0;  // finished 0: still running, or killed
  RunOutcome outcome = RunOutcome::running;
  bool catalog_complete = false;
  std::string reason;                // why it is incomplete
  std::vector<std::string> paths;    // absolute, as given
  std::uint64_t files_rewrapped = 0, files_current = 0, files_failed = 0;
  // Schema v5: who ran it (host name and process id), the catalog DEKs its claimed batches rewrapped,
  // and the rewraps it did in the token that a commit found already done by someone else (0 when
  // batches are disjoint). RewrapClaim::commit counts both in the batch's own transaction; sharded
  // (SQLite) runs leave both 0.
  std::string host;
  std::uint64_t deks_rewrapped = 0, rewraps_already_done = 0;
};

enum class FileOutcome { rewrapped, current, failed };
// One file's result, recorded as soon as it is known. kek_family empty: the key section could not be read.
struct RunFile {
  std::string path;
  FileOutcome outcome = FileOutcome::current;
  std::string kek_family;
  std::uint32_t kek_version = 0;
  std::string reason;
};

// What retire sees inside its write transaction.
struct RetireFacts {
  std::string family;
  std::uint32_t version = 0;
  bool already_retired = false;               // the catalog already marks it retired
  std::uint64_t deks = 0;                     // catalog DEKs under it
  std::vector<FileReference> files;           // recorded envelope files under it (at most 20)
  std::uint64_t file_count = 0;
  std::optional<RunRecord> newest_run_after;  // newest run of the family with target above it
};

// A batch of DEKs this process claimed for rewrapping (Catalog::claim_rewrap_batch): no other process
// can claim them until commit() or the end of the claim. Destroying it without commit() releases the
// batch unchanged, and so does the death of the process (the server rolls the transaction back).
// While a claim is open its catalog is in the claim's transaction: make no other call on it.
class RewrapClaim {
 public:
  virtual ~RewrapClaim() = default;
  // The claimed DEKs (empty: nothing left to claim now; others may still hold batches).
  virtual const std::vector<DekRecord>& records() const = 0;
  // Applies `rewraps` (as apply_rewraps, guarded by from_version), adds the applied count to the
  // run's deks_rewrapped and the others to its rewraps_already_done, and releases the batch: one
  // transaction. Returns how many were applied.
  virtual Result<std::size_t> commit(const std::vector<Rewrap>& rewraps) = 0;
};

class Catalog {
 public:
  virtual ~Catalog() = default;

  // DEKs. A scope has at most one active DEK (schema v3: a unique index): inserting an active
  // record supersedes the scope's active DEK in the same transaction (superseded DEKs still
  // decrypt). create_dek fails with ErrorCategory::shredded for a tombstoned scope, and with
  // ErrorCategory::policy for a record whose (KEK family, version) is not the family's current
  // version in kek_versions (recorded decrypt-only or retired, or a newer version recorded): a
  // DEK wrapped under a version that a rotation is retiring would outlive its KEK.
  virtual Status create_dek(const DekRecord& record) = 0;
  // A scope's first DEK, for racing writers: in one transaction, inserts `record` (active) unless
  // the scope already has an active DEK or the record's KEK version is stale (as create_dek).
  // Errors: shredded; io.
  virtual Result<FirstDek> create_first_dek(const DekRecord& record) = 0;
  // Many at once, in one transaction (bulk provisioning, tests, benchmarks). No KEK version check:
  // bulk imports may carry records under older versions.
  virtual Status create_deks(const std::vector<DekRecord>& records) = 0;
  virtual Result<std::optional<DekRecord>> find_dek(const envelope::DekId& dek_id) = 0;
  virtual Result<std::optional<DekRecord>> active_dek(const std::string& scope) = 0;
  virtual Result<std::vector<DekRecord>> deks_for_scope(const std::string& scope) = 0;
  virtual Status set_dek_state(const envelope::DekId& dek_id, DekState state) = 0;
  // False for a catalog opened read-only (readers work, writes fail with ErrorCategory::io).
  virtual bool writable() const { return true; }

  // KEK versions.
  virtual Status set_kek_version(const KekVersionRecord& record) = 0;
  virtual Result<std::vector<KekVersionRecord>> kek_versions(const std::string& family) = 0;

  // Rotation: DEKs of `family` under a version below `target`, with after < DEK ID < before, in DEK
  // ID order (workers split the ID space into shards).
  virtual Result<std::vector<DekRecord>> next_rewrap_batch(const std::string& family, std::uint32_t target,
                                                           const envelope::DekId& after, std::size_t limit,
                                                           const envelope::DekId& before = max_dek_id()) = 0;
  static envelope::DekId max_dek_id() {
    envelope::DekId id{};
    id.fill(0xFF);
    return id;
  }
  // Applies every rewrap in one transaction: all or nothing. Rewraps whose DEK is no longer at
  // `from_version` are skipped (already done by an earlier run). Returns how many were applied.
  virtual Result<std::size_t> apply_rewraps(const std::vector<Rewrap>& rewraps) = 0;
  virtual Result<std::map<std::uint32_t, std::uint64_t>> count_by_version(const std::string& family) = 0;
  // Rotation shared by processes and hosts: true when claim_rewrap_batch works (PostgreSQL: batches
  // are claimed with SELECT … FOR UPDATE SKIP LOCKED). SQLite has one writer at a time; its runs
  // split the DEK ID space into shards instead (next_rewrap_batch).
  virtual bool claims_rewrap_batches() const { return false; }
  // Claims up to `limit` DEKs of `family` below `target` that no one else has claimed, for run
  // `run_id` (its deks_rewrapped counts the commits). Errors: usage where claims_rewrap_batches() is false.
  virtual Result<std::unique_ptr<RewrapClaim>> claim_rewrap_batch(const std::string& family, std::uint32_t target,
                                                                  std::size_t limit, std::int64_t run_id);
  virtual Status set_rotation(const RotationRecord& record) = 0;
  virtual Result<std::optional<RotationRecord>> rotation(const std::string& family) = 0;

  // Envelope files found by the last rotation scan, so retire can see them.
  virtual Status record_file_references(const std::vector<FileReference>& references) = 0;
  // Catalog DEKs plus recorded files under (family, version).
  virtual Result<std::uint64_t> references_to(const std::string& family, std::uint32_t version) = 0;

  // Rotation runs. begin_run records a running run with the paths it was given; record_run_file
  // records one file's result for each of `run_ids` and, when the key section was read, its file
  // reference, in one transaction (progress survives a kill); finish_run closes the run.
  // The run records `host` (default: this machine's name and process id, run_host()).
  virtual Result<std::int64_t> begin_run(const std::string& family, std::uint32_t target,
                                         const std::vector<std::string>& paths) = 0;
  virtual Status record_run_file(const std::vector<std::int64_t>& run_ids, const RunFile& file) = 0;
  virtual Status finish_run(std::int64_t run_id, bool catalog_complete, RunOutcome outcome, const std::string& reason) = 0;
  // The family's runs, newest first (at most `limit`).
  virtual Result<std::vector<RunRecord>> runs(const std::string& family, std::size_t limit) = 0;
  virtual Result<std::vector<RunFile>> run_files(std::int64_t run_id, FileOutcome outcome, std::size_t limit) = 0;
  // In ONE write transaction: gathers RetireFacts for (family, version), calls `decide`, and if it
  // returns true marks the version retired. A writer inserting a DEK under the version either commits
  // before (decide sees it) or after (the version is retired and the writer's insert is refused).
  virtual Status retire_if(const std::string& family, std::uint32_t version,
                           const std::function<Status(const RetireFacts&)>& decide) = 0;

  // Crypto-shredding: deletes the scope's wrapped DEKs and writes a tombstone, in one transaction.
  // Returns the number of DEKs destroyed.
  virtual Result<std::size_t> shred_scope(const std::string& scope, const std::string& reason) = 0;
  virtual Result<bool> is_shredded(const std::string& scope) = 0;
  // After a shred: removes what the storage still keeps of deleted rows (SQLite: checkpoint and
  // truncate the WAL, VACUUM when the main file still holds a copy), then searches every file of the
  // catalog for each of `secrets` (the shredded wrapped DEKs). Returns what remains (empty: nothing).
  struct Residue {
    std::string file;
    std::uint64_t copies = 0;
    std::string why;  // what kept it and what to do
  };
  virtual Result<std::vector<Residue>> purge_copies(const std::vector<std::vector<std::uint8_t>>& secrets) = 0;
  // True if the DEK belonged to a shredded scope (its ID is remembered, its key material is not).
  virtual Result<bool> is_dek_shredded(const envelope::DekId& dek_id) = 0;
};

const char* kek_state_name(KekState state);
// "HOSTNAME:PID" of this process: who a run belongs to, in status.
std::string run_host();
const char* run_outcome_name(RunOutcome outcome);
const char* file_outcome_name(FileOutcome outcome);

}  // namespace keyward::hierarchy
