// Catalog: where wrapped DEKs live, by scope (tenant / table / column — the caller chooses), with
// KEK versions, shred tombstones and rotation state. One interface, so a server database can replace
// the embedded SQLite one (sqlite_catalog.h). Only ciphertext (wrapped DEKs) is stored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "envelope/format.h"
#include "pkcs11/error.h"

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
  virtual Status set_rotation(const RotationRecord& record) = 0;
  virtual Result<std::optional<RotationRecord>> rotation(const std::string& family) = 0;

  // Envelope files found by the last rotation scan, so retire can see them.
  virtual Status record_file_references(const std::vector<FileReference>& references) = 0;
  // Catalog DEKs plus recorded files under (family, version).
  virtual Result<std::uint64_t> references_to(const std::string& family, std::uint32_t version) = 0;

  // Crypto-shredding: deletes the scope's wrapped DEKs and writes a tombstone, in one transaction.
  // Returns the number of DEKs destroyed.
  virtual Result<std::size_t> shred_scope(const std::string& scope, const std::string& reason) = 0;
  virtual Result<bool> is_shredded(const std::string& scope) = 0;
  // True if the DEK belonged to a shredded scope (its ID is remembered, its key material is not).
  virtual Result<bool> is_dek_shredded(const envelope::DekId& dek_id) = 0;
};

const char* kek_state_name(KekState state);

}  // namespace keyward::hierarchy
