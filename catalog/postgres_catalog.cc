// PostgresCatalog: DEKs, KEK versions, rewraps (sharded and claimed), shred.
#include "catalog/postgres_catalog.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <unordered_map>

#include "catalog/internal/catalog_text.h"
#include "catalog/internal/pg_connection.h"
#include "catalog/key_removals.h"

namespace keyward::hierarchy {
namespace {

using internal::now_seconds;

#define KEYWARD_DEK_COLUMNS "SELECT dek_id, scope, kek_family, kek_version, wrapped, state, created, updated FROM deks "
// Connection::run prepares statements by the address of their SQL: named literals, used once each.
constexpr const char* kFindDek = KEYWARD_DEK_COLUMNS "WHERE dek_id = $1::bytea";
constexpr const char* kActiveDek = KEYWARD_DEK_COLUMNS "WHERE scope = $1::text AND state = 'active' ORDER BY created DESC LIMIT 1";
constexpr const char* kDeksOfScope = KEYWARD_DEK_COLUMNS "WHERE scope = $1::text ORDER BY created, dek_id";
constexpr const char* kShardBatch = KEYWARD_DEK_COLUMNS
    "WHERE kek_family = $1::text AND kek_version < $2::bigint AND dek_id > $3::bytea AND dek_id < $4::bytea "
    "ORDER BY dek_id LIMIT $5::bigint";
// SKIP LOCKED: rows another process has claimed (and not yet committed) are passed over, not waited
// for (PostgreSQL docs, SELECT, "The Locking Clause"). The ORDER BY follows deks_by_kek, so the plan
// walks that index from the oldest version up: without it a late batch could be a sequential scan
// over every DEK already rewrapped (quadratic over a rotation).
constexpr const char* kClaimBatch = KEYWARD_DEK_COLUMNS
    "WHERE kek_family = $1::text AND kek_version < $2::bigint ORDER BY kek_family, kek_version, dek_id "
    "LIMIT $3::bigint FOR UPDATE SKIP LOCKED";
#undef KEYWARD_DEK_COLUMNS

// Advisory lock classes (pg_advisory_xact_lock(class, key)); 3 is the schema (postgres_schema.cc).
constexpr const char* kLockScope = "SELECT pg_advisory_xact_lock(1, hashtext($1::text))";
constexpr const char* kLockFamilyShared = "SELECT pg_advisory_xact_lock_shared(2, hashtext($1::text))";
constexpr const char* kLockFamilyExclusive = "SELECT pg_advisory_xact_lock(2, hashtext($1::text))";

DekRecord dek_from(const pg::Rows& rows, int row) {
  DekRecord record;
  const auto id = rows.bytes(row, 0);
  std::memcpy(record.dek_id.data(), id.data(), std::min(id.size(), record.dek_id.size()));
  record.scope = rows.text(row, 1);
  record.kek_family = rows.text(row, 2);
  record.kek_version = static_cast<std::uint32_t>(rows.integer(row, 3));
  record.wrapped = rows.bytes(row, 4);
  record.state = rows.text(row, 5) == "active" ? DekState::active : DekState::superseded;
  record.created = rows.integer(row, 6);
  record.updated = rows.integer(row, 7);
  return record;
}

// A PostgreSQL array literal of text values: every element quoted, '"' and '\' escaped.
std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const auto& value : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace

Status PostgresCatalog::lock_scope(const std::string& scope) {
  KW_TRY(db_->run(kLockScope, pg::Params().text(scope), "locking a scope"));
  return {};
}

Status PostgresCatalog::lock_family(const std::string& family, bool exclusive) {
  KW_TRY(db_->run(exclusive ? kLockFamilyExclusive : kLockFamilyShared, pg::Params().text(family), "locking a KEK family"));
  return {};
}

Result<std::vector<DekRecord>> PostgresCatalog::dek_query(const char* sql, const pg::Params& params, const char* what) {
  KW_ASSIGN_OR_RETURN(auto rows, db_->run(sql, params, what));
  std::vector<DekRecord> records;
  records.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) records.push_back(dek_from(rows, i));
  return records;
}

Status PostgresCatalog::insert_dek_locked(const DekRecord& record) {
  KW_ASSIGN_OR_RETURN(bool shredded, is_shredded(record.scope));
  if (shredded) return make_error(ErrorCategory::shredded, internal::shredded_scope_message(record.scope));
  const auto now = record.created ? record.created : now_seconds();
  if (record.state == DekState::active)  // one active DEK per scope (schema v3): the new one supersedes it
    KW_TRY(db_->run("UPDATE deks SET state = 'superseded', updated = $1::bigint WHERE scope = $2::text AND state = 'active'",
                    pg::Params().integer(now).text(record.scope), "superseding a scope's active DEK"));
  KW_TRY(db_->run("INSERT INTO deks (dek_id, scope, kek_family, kek_version, wrapped, state, created, updated) "
                  "VALUES ($1::bytea, $2::text, $3::text, $4::bigint, $5::bytea, $6::text, $7::bigint, $7::bigint)",
                  pg::Params().bytes(record.dek_id).text(record.scope).text(record.kek_family).integer(record.kek_version)
                      .bytes(record.wrapped).text(internal::dek_state_name(record.state)).integer(now),
                  "inserting a DEK"));
  return {};
}

Result<bool> PostgresCatalog::kek_version_is_current(const std::string& family, std::uint32_t version) {
  KW_ASSIGN_OR_RETURN(auto rows, db_->run("SELECT EXISTS (SELECT 1 FROM kek_versions WHERE family = $1::text AND "
                                          "(version > $2::bigint OR (version = $2::bigint AND state <> 'active')))",
                                          pg::Params().text(family).integer(version), "reading KEK versions"));
  return rows.integer(0, 0) == 0;
}

Status PostgresCatalog::create_dek(const DekRecord& record) {
  return in_transaction([&]() -> Status {
    KW_TRY(lock_scope(record.scope));
    KW_TRY(lock_family(record.kek_family, false));
    KW_ASSIGN_OR_RETURN(bool current, kek_version_is_current(record.kek_family, record.kek_version));
    if (!current) return make_error(ErrorCategory::policy, internal::stale_version_message(record));
    return insert_dek_locked(record);
  });
}

Result<FirstDek> PostgresCatalog::create_first_dek(const DekRecord& record) {
  FirstDek decided;
  const Status done = in_transaction([&]() -> Status {
    // The scope's lock queues concurrent first uses: the second sees the first's committed DEK.
    KW_TRY(lock_scope(record.scope));
    KW_TRY(lock_family(record.kek_family, false));
    KW_ASSIGN_OR_RETURN(bool shredded, is_shredded(record.scope));
    if (shredded) return make_error(ErrorCategory::shredded, internal::shredded_scope_message(record.scope));
    KW_ASSIGN_OR_RETURN(auto existing, active_dek(record.scope));
    if (existing) {
      decided = FirstDek{FirstDek::Outcome::existing, std::move(existing)};
      return {};
    }
    KW_ASSIGN_OR_RETURN(bool current, kek_version_is_current(record.kek_family, record.kek_version));
    if (!current) {
      decided = FirstDek{FirstDek::Outcome::stale_kek_version, std::nullopt};
      return {};
    }
    DekRecord active = record;
    active.state = DekState::active;
    KW_TRY(insert_dek_locked(active));
    decided = FirstDek{FirstDek::Outcome::inserted, std::move(active)};
    return {};
  });
  if (!done) return std::unexpected(done.error());
  return decided;
}

Status PostgresCatalog::create_deks(const std::vector<DekRecord>& records) {
  if (records.empty()) return {};
  // One statement per kind of row change instead of three round trips per record (bulk provisioning
  // of millions). Sequential semantics are kept: within the batch, an active record is superseded by
  // a later active record of the same scope, as inserting them one by one would do.
  std::unordered_map<std::string, std::size_t> last_active;
  for (std::size_t i = 0; i < records.size(); ++i)
    if (records[i].state == DekState::active) last_active[records[i].scope] = i;
  std::vector<std::span<const std::uint8_t>> ids, wrapped;
  std::vector<std::string> scopes, families, states, active_scopes;
  std::vector<std::int64_t> versions, created;
  const auto now = now_seconds();
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& record = records[i];
    ids.emplace_back(record.dek_id);
    wrapped.emplace_back(record.wrapped);
    scopes.push_back(record.scope);
    families.push_back(record.kek_family);
    const bool active = record.state == DekState::active && last_active[record.scope] == i;
    states.push_back(active ? "active" : "superseded");
    if (active) active_scopes.push_back(record.scope);
    versions.push_back(record.kek_version);
    created.push_back(record.created ? record.created : now);
  }
  return in_transaction([&]() -> Status {
    KW_ASSIGN_OR_RETURN(auto shredded, db_->run("SELECT scope FROM tombstones WHERE scope = ANY($1::text[]) LIMIT 1",
                                                pg::Params().text(text_array(scopes)), "reading tombstones"));
    if (!shredded.empty()) return make_error(ErrorCategory::shredded, internal::shredded_scope_message(shredded.text(0, 0)));
    KW_TRY(db_->run("UPDATE deks SET state = 'superseded', updated = $1::bigint WHERE state = 'active' AND scope = ANY($2::text[])",
                    pg::Params().integer(now).text(text_array(active_scopes)), "superseding scopes' active DEKs"));
    KW_TRY(db_->run("INSERT INTO deks (dek_id, scope, kek_family, kek_version, wrapped, state, created, updated) "
                    "SELECT id, scope, family, version, wrapped, state, created, created FROM "
                    "unnest($1::bytea[], $2::text[], $3::text[], $4::bigint[], $5::bytea[], $6::text[], $7::bigint[]) "
                    "AS r (id, scope, family, version, wrapped, state, created)",
                    pg::Params().text(pg::bytea_array(ids)).text(text_array(scopes)).text(text_array(families))
                        .text(pg::integer_array(versions)).text(pg::bytea_array(wrapped)).text(text_array(states))
                        .text(pg::integer_array(created)),
                    "inserting DEKs"));
    return {};
  });
}

Result<std::optional<DekRecord>> PostgresCatalog::find_dek(const envelope::DekId& dek_id) {
  KW_ASSIGN_OR_RETURN(auto records, dek_query(kFindDek, pg::Params().bytes(dek_id), "reading a DEK"));
  if (records.empty()) return std::optional<DekRecord>();
  return std::optional<DekRecord>(std::move(records.front()));
}

Result<std::optional<DekRecord>> PostgresCatalog::active_dek(const std::string& scope) {
  KW_ASSIGN_OR_RETURN(auto records, dek_query(kActiveDek, pg::Params().text(scope), "reading a scope's DEK"));
  if (records.empty()) return std::optional<DekRecord>();
  return std::optional<DekRecord>(std::move(records.front()));
}

Result<std::vector<DekRecord>> PostgresCatalog::deks_for_scope(const std::string& scope) {
  return dek_query(kDeksOfScope, pg::Params().text(scope), "listing a scope's DEKs");
}

Status PostgresCatalog::set_dek_state(const envelope::DekId& dek_id, DekState state) {
  KW_TRY(db_->run("UPDATE deks SET state = $1::text, updated = $2::bigint WHERE dek_id = $3::bytea",
                  pg::Params().text(internal::dek_state_name(state)).integer(now_seconds()).bytes(dek_id), "updating a DEK"));
  return {};
}

Status PostgresCatalog::set_kek_version_locked(const KekVersionRecord& record) {
  KW_TRY(db_->run("INSERT INTO kek_versions (family, version, state, created, retired) "
                  "VALUES ($1::text, $2::bigint, $3::text, $4::bigint, $5::bigint) ON CONFLICT (family, version) "
                  "DO UPDATE SET state = excluded.state, retired = excluded.retired",
                  pg::Params().text(record.family).integer(record.version).text(kek_state_name(record.state))
                      .integer(record.created ? record.created : now_seconds()).integer(record.retired),
                  "recording a KEK version"));
  return {};
}

Status PostgresCatalog::set_kek_version(const KekVersionRecord& record) {
  return in_transaction([&]() -> Status {
    KW_TRY(lock_family(record.family, true));  // DEK writers checking this family's versions wait
    return set_kek_version_locked(record);
  });
}

Result<std::vector<KekVersionRecord>> PostgresCatalog::kek_versions(const std::string& family) {
  KW_ASSIGN_OR_RETURN(auto rows, db_->run("SELECT family, version, state, created, retired FROM kek_versions "
                                          "WHERE family = $1::text ORDER BY version",
                                          pg::Params().text(family), "listing KEK versions"));
  std::vector<KekVersionRecord> records;
  for (int i = 0; i < rows.size(); ++i) {
    KW_ASSIGN_OR_RETURN(auto record, internal::kek_version_from(rows.text(i, 0), true, rows.integer(i, 1), rows.text(i, 2),
                                                                rows.integer(i, 3), rows.integer(i, 4), db_->printable()));
    records.push_back(std::move(record));
  }
  return records;
}

Result<std::vector<DekRecord>> PostgresCatalog::next_rewrap_batch(const std::string& family, std::uint32_t target,
                                                                  const envelope::DekId& after, std::size_t limit,
                                                                  const envelope::DekId& before) {
  return dek_query(kShardBatch,
                   pg::Params().text(family).integer(target).bytes(after).bytes(before).integer(static_cast<std::int64_t>(limit)),
                   "reading a rewrap batch");
}

Result<std::size_t> PostgresCatalog::update_rewraps(const std::vector<Rewrap>& rewraps) {
  const std::size_t count = std::min(rewraps.size(), fail_after_);
  std::vector<std::span<const std::uint8_t>> ids, wrapped;
  std::vector<std::int64_t> from, to;
  for (std::size_t i = 0; i < count; ++i) {
    ids.emplace_back(rewraps[i].dek_id);
    wrapped.emplace_back(rewraps[i].wrapped);
    from.push_back(rewraps[i].from_version);
    to.push_back(rewraps[i].to_version);
  }
  // One statement for the batch; each row guarded by the version it is expected to have now.
  KW_ASSIGN_OR_RETURN(auto rows, db_->run("UPDATE deks SET kek_version = r.to_version, wrapped = r.wrapped, updated = $1::bigint "
                                          "FROM unnest($2::bytea[], $3::bigint[], $4::bigint[], $5::bytea[]) "
                                          "AS r (dek_id, from_version, to_version, wrapped) "
                                          "WHERE deks.dek_id = r.dek_id AND deks.kek_version = r.from_version",
                                          pg::Params().integer(now_seconds()).text(pg::bytea_array(ids)).text(pg::integer_array(from))
                                              .text(pg::integer_array(to)).text(pg::bytea_array(wrapped)),
                                          "applying rewraps"));
  if (count < rewraps.size()) return make_error(ErrorCategory::io, "injected failure (test hook)");
  return static_cast<std::size_t>(rows.affected());
}

Result<std::size_t> PostgresCatalog::apply_rewraps(const std::vector<Rewrap>& rewraps) {
  std::size_t applied = 0;
  const Status done = in_transaction([&]() -> Status {
    KW_ASSIGN_OR_RETURN(applied, update_rewraps(rewraps));
    return {};
  });
  if (!done) return std::unexpected(done.error());
  return applied;
}

// A claimed batch: the transaction that holds the rows' locks, open until commit() or destruction.
class PostgresCatalog::Claim final : public RewrapClaim {
 public:
  Claim(PostgresCatalog& catalog, std::vector<DekRecord> records, std::int64_t run_id)
      : catalog_(catalog), records_(std::move(records)), run_id_(run_id) {}
  ~Claim() override {
    if (open_) (void)catalog_.db_->exec("ROLLBACK", "releasing a claimed batch");
  }
  const std::vector<DekRecord>& records() const override { return records_; }
  Result<std::size_t> commit(const std::vector<Rewrap>& rewraps) override {
    auto applied = [&]() -> Result<std::size_t> {
      KW_ASSIGN_OR_RETURN(std::size_t n, catalog_.update_rewraps(rewraps));
      KW_TRY(catalog_.db_->run("UPDATE rotation_runs SET deks_rewrapped = deks_rewrapped + $1::bigint, "
                               "rewraps_already_done = rewraps_already_done + $2::bigint WHERE run_id = $3::bigint",
                               pg::Params().integer(static_cast<std::int64_t>(n)).integer(static_cast<std::int64_t>(rewraps.size() - n))
                                   .integer(run_id_),
                               "counting a run's rewraps"));
      KW_TRY(catalog_.db_->exec("COMMIT", "committing a rewrapped batch"));
      return n;
    }();
    if (applied) open_ = false;  // else the destructor rolls the failed transaction back
    return applied;
  }

 private:
  PostgresCatalog& catalog_;
  std::vector<DekRecord> records_;
  std::int64_t run_id_;
  bool open_ = true;
};

Result<std::unique_ptr<RewrapClaim>> PostgresCatalog::claim_rewrap_batch(const std::string& family, std::uint32_t target,
                                                                         std::size_t limit, std::int64_t run_id) {
  if (read_only_) return Catalog::claim_rewrap_batch(family, target, limit, run_id);
  KW_TRY(db_->exec("BEGIN ISOLATION LEVEL READ COMMITTED", "starting a claim"));
  auto records = dek_query(kClaimBatch, pg::Params().text(family).integer(target).integer(static_cast<std::int64_t>(limit)),
                           "claiming a rewrap batch");
  if (!records) {
    (void)db_->exec("ROLLBACK", "rolling back");
    return std::unexpected(std::move(records).error());
  }
  return std::unique_ptr<RewrapClaim>(std::make_unique<Claim>(*this, std::move(*records), run_id));
}

Result<std::map<std::uint32_t, std::uint64_t>> PostgresCatalog::count_by_version(const std::string& family) {
  KW_ASSIGN_OR_RETURN(auto rows, db_->run("SELECT kek_version, COUNT(*) FROM deks WHERE kek_family = $1::text GROUP BY kek_version",
                                          pg::Params().text(family), "counting DEKs"));
  std::map<std::uint32_t, std::uint64_t> counts;
  for (int i = 0; i < rows.size(); ++i)
    counts[static_cast<std::uint32_t>(rows.integer(i, 0))] = static_cast<std::uint64_t>(rows.integer(i, 1));
  return counts;
}

Status PostgresCatalog::set_rotation(const RotationRecord& record) {
  KW_TRY(db_->run("INSERT INTO rotations (family, target_version, started, finished) VALUES ($1::text, $2::bigint, $3::bigint, "
                  "$4::bigint) ON CONFLICT (family) DO UPDATE SET target_version = excluded.target_version, "
                  "started = excluded.started, finished = excluded.finished",
                  pg::Params().text(record.family).integer(record.target_version).integer(record.started).integer(record.finished),
                  "recording a rotation"));
  return {};
}

Result<std::optional<RotationRecord>> PostgresCatalog::rotation(const std::string& family) {
  KW_ASSIGN_OR_RETURN(auto rows, db_->run("SELECT family, target_version, started, finished FROM rotations WHERE family = $1::text",
                                          pg::Params().text(family), "reading a rotation"));
  if (rows.empty()) return std::optional<RotationRecord>();
  return std::optional<RotationRecord>(
      RotationRecord{rows.text(0, 0), static_cast<std::uint32_t>(rows.integer(0, 1)), rows.integer(0, 2), rows.integer(0, 3)});
}

Status PostgresCatalog::record_file_references(const std::vector<FileReference>& references) {
  return in_transaction([&]() -> Status {
    const auto now = now_seconds();
    for (const auto& reference : references)
      KW_TRY(db_->run("INSERT INTO file_refs (path, kek_family, kek_version, scanned) VALUES ($1::text, $2::text, $3::bigint, "
                      "$4::bigint) ON CONFLICT (path) DO UPDATE SET kek_family = excluded.kek_family, "
                      "kek_version = excluded.kek_version, scanned = excluded.scanned",
                      pg::Params().text(reference.path).text(reference.kek_family).integer(reference.kek_version).integer(now),
                      "recording a file reference"));
    return {};
  });
}

Result<std::uint64_t> PostgresCatalog::references_to(const std::string& family, std::uint32_t version) {
  KW_ASSIGN_OR_RETURN(auto rows, db_->run("SELECT (SELECT COUNT(*) FROM deks WHERE kek_family = $1::text AND kek_version = $2::bigint) + "
                                          "(SELECT COUNT(*) FROM file_refs WHERE kek_family = $1::text AND kek_version = $2::bigint)",
                                          pg::Params().text(family).integer(version), "counting references"));
  return static_cast<std::uint64_t>(rows.integer(0, 0));
}

Result<std::size_t> PostgresCatalog::shred_scope(const std::string& scope, const std::string& reason) {
  std::size_t destroyed = 0;
  const Status done = in_transaction([&]() -> Status {
    KW_TRY(lock_scope(scope));  // no first use of the scope slips in between
    KW_TRY(db_->run("INSERT INTO shredded_deks (dek_id, scope) SELECT dek_id, scope FROM deks WHERE scope = $1::text "
                    "ON CONFLICT DO NOTHING",
                    pg::Params().text(scope), "remembering shredded DEK IDs"));
    KW_ASSIGN_OR_RETURN(auto removed, db_->run("DELETE FROM deks WHERE scope = $1::text", pg::Params().text(scope),
                                               "deleting a scope's DEKs"));
    destroyed = static_cast<std::size_t>(removed.affected());
    KW_TRY(db_->run("INSERT INTO tombstones (scope, shredded, reason) VALUES ($1::text, $2::bigint, $3::text) "
                    "ON CONFLICT (scope) DO UPDATE SET shredded = excluded.shredded, reason = excluded.reason",
                    pg::Params().text(scope).integer(now_seconds()).text(reason), "writing a tombstone"));
    return {};
  });
  if (!done) return std::unexpected(done.error());
  note_key_removal();  // keys derived in this process from the scope's DEKs stop being served now
  return destroyed;
}

Result<bool> PostgresCatalog::is_shredded(const std::string& scope) {
  KW_ASSIGN_OR_RETURN(auto rows, db_->run("SELECT 1 FROM tombstones WHERE scope = $1::text", pg::Params().text(scope),
                                          "reading tombstones"));
  return !rows.empty();
}

Result<bool> PostgresCatalog::is_dek_shredded(const envelope::DekId& dek_id) {
  KW_ASSIGN_OR_RETURN(auto rows, db_->run("SELECT 1 FROM shredded_deks WHERE dek_id = $1::bytea", pg::Params().bytes(dek_id),
                                          "reading shredded DEK IDs"));
  return !rows.empty();
}

Result<std::vector<Catalog::Residue>> PostgresCatalog::purge_copies(const std::vector<std::vector<std::uint8_t>>& secrets) {
  // VACUUM makes the dead rows' space reusable (it does not zero it) and cannot run in a transaction.
  KW_TRY(db_->exec("VACUUM deks", "vacuuming the DEK table"));
  if (secrets.empty()) return std::vector<Residue>{};
  return std::vector<Residue>{
      {db_->printable(), 0,
       "PostgreSQL keeps copies of deleted rows that keyward cannot read or remove: dead tuples on heap pages until "
       "overwritten, the WAL until recycled, and every replica and base backup. On the server, run VACUUM FULL deks "
       "(an exclusive lock: it rewrites the table), CHECKPOINT, and expire backups and WAL archives that predate the shred"}};
}

}  // namespace keyward::hierarchy
