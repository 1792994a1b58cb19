// PostgresCatalog: rotation runs, their per-file progress, and retire's check-and-mark transaction.
#include "catalog/internal/catalog_text.h"
#include "catalog/internal/pg_connection.h"
#include "catalog/postgres_catalog.h"

namespace keyward::hierarchy {
namespace {

using internal::now_seconds;

#define KEYWARD_RUN_COLUMNS \
  "SELECT run_id, family, target_version, started, finished, outcome, catalog_complete, reason, host, deks_rewrapped, "\
  "rewraps_already_done FROM rotation_runs "
constexpr const char* kRunsOfFamily = KEYWARD_RUN_COLUMNS "WHERE family = $1::text ORDER BY run_id DESC LIMIT $2::bigint";
constexpr const char* kNewestRunAbove =
    KEYWARD_RUN_COLUMNS "WHERE family = $1::text AND target_version > $2::bigint ORDER BY run_id DESC LIMIT 1";
#undef KEYWARD_RUN_COLUMNS

RunRecord run_from(const pg::Rows& rows, int row) {
  RunRecord run;
  run.run_id = rows.integer(row, 0);
  run.family = rows.text(row, 1);
  run.target_version = static_cast<std::uint32_t>(rows.integer(row, 2));
  run.started = rows.integer(row, 3);
  run.finished = rows.integer(row, 4);
  run.outcome = internal::run_outcome_from(rows.text(row, 5));
  run.catalog_complete = rows.integer(row, 6) != 0;
  run.reason = rows.text(row, 7);
  run.host = rows.text(row, 8);
  run.deks_rewrapped = static_cast<std::uint64_t>(rows.integer(row, 9));
  run.rewraps_already_done = static_cast<std::uint64_t>(rows.integer(row, 10));
  return run;
}

}  // namespace

Result<std::int64_t> PostgresCatalog::begin_run(const std::string& family, std::uint32_t target,
                                                const std::vector<std::string>& paths) {
  std::int64_t run_id = 0;
  const Status done = in_transaction([&]() -> Status {
    KW_ASSIGN_OR_RETURN(auto inserted,
                        db_->run("INSERT INTO rotation_runs (family, target_version, started, outcome, host) "
                                 "VALUES ($1::text, $2::bigint, $3::bigint, 'running', $4::text) RETURNING run_id",
                                 pg::Params().text(family).integer(target).integer(now_seconds()).text(run_host()),
                                 "recording a rotation run"));
    run_id = inserted.integer(0, 0);
    for (const auto& path : paths)
      KW_TRY(db_->run("INSERT INTO run_paths (run_id, path) VALUES ($1::bigint, $2::text) ON CONFLICT DO NOTHING",
                      pg::Params().integer(run_id).text(path), "recording a run's path"));
    return {};
  });
  if (!done) return std::unexpected(done.error());
  return run_id;
}

Status PostgresCatalog::record_run_file(const std::vector<std::int64_t>& run_ids, const RunFile& file) {
  return in_transaction([&]() -> Status {
    // As SQLite's synchronous=NORMAL for these rows: a committed row survives the death of the process
    // (the kill this progress is for) without its own WAL flush; the run's closing commit flushes
    // every earlier one (PostgreSQL's WAL is sequential). A server crash can only lose the newest rows
    // of a run that then stays "running", which keeps retire refused.
    KW_TRY(db_->exec("SET LOCAL synchronous_commit = off", "recording a file's rotation progress"));
    const auto now = now_seconds();
    for (const auto run_id : run_ids)
      KW_TRY(db_->run("INSERT INTO run_files (run_id, path, outcome, kek_family, kek_version, reason, recorded) "
                      "VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::bigint, $6::text, $7::bigint) "
                      "ON CONFLICT (run_id, path) DO UPDATE SET outcome = excluded.outcome, kek_family = excluded.kek_family, "
                      "kek_version = excluded.kek_version, reason = excluded.reason, recorded = excluded.recorded",
                      pg::Params().integer(run_id).text(file.path).text(file_outcome_name(file.outcome)).text(file.kek_family)
                          .integer(file.kek_version).text(file.reason).integer(now),
                      "recording a file's rotation progress"));
    if (file.kek_family.empty()) return {};
    // The reference retire counts: this file's key section is under (family, version) now.
    KW_TRY(db_->run("INSERT INTO file_refs (path, kek_family, kek_version, scanned) VALUES ($1::text, $2::text, $3::bigint, "
                    "$4::bigint) ON CONFLICT (path) DO UPDATE SET kek_family = excluded.kek_family, "
                    "kek_version = excluded.kek_version, scanned = excluded.scanned",
                    pg::Params().text(file.path).text(file.kek_family).integer(file.kek_version).integer(now),
                    "recording a file reference"));
    return {};
  });
}

Status PostgresCatalog::finish_run(std::int64_t run_id, bool catalog_complete, RunOutcome outcome, const std::string& reason) {
  KW_TRY(db_->run("UPDATE rotation_runs SET finished = $1::bigint, outcome = $2::text, catalog_complete = $3::bigint, "
                  "reason = $4::text WHERE run_id = $5::bigint",
                  pg::Params().integer(now_seconds()).text(run_outcome_name(outcome)).integer(catalog_complete ? 1 : 0)
                      .text(reason).integer(run_id),
                  "finishing a rotation run"));
  return {};
}

Status PostgresCatalog::fill_run_details(RunRecord& run) {
  KW_ASSIGN_OR_RETURN(auto paths, db_->run("SELECT path FROM run_paths WHERE run_id = $1::bigint ORDER BY path",
                                           pg::Params().integer(run.run_id), "listing a run's paths"));
  for (int i = 0; i < paths.size(); ++i) run.paths.push_back(paths.text(i, 0));
  KW_ASSIGN_OR_RETURN(auto counts, db_->run("SELECT outcome, COUNT(*) FROM run_files WHERE run_id = $1::bigint GROUP BY outcome",
                                            pg::Params().integer(run.run_id), "counting a run's files"));
  for (int i = 0; i < counts.size(); ++i) {
    const auto n = static_cast<std::uint64_t>(counts.integer(i, 1));
    switch (internal::file_outcome_from(counts.text(i, 0))) {
      case FileOutcome::rewrapped: run.files_rewrapped = n; break;
      case FileOutcome::current: run.files_current = n; break;
      case FileOutcome::failed: run.files_failed = n; break;
    }
  }
  return {};
}

Result<std::vector<RunRecord>> PostgresCatalog::runs(const std::string& family, std::size_t limit) {
  KW_ASSIGN_OR_RETURN(auto rows, db_->run(kRunsOfFamily, pg::Params().text(family).integer(static_cast<std::int64_t>(limit)),
                                          "listing rotation runs"));
  std::vector<RunRecord> runs;
  for (int i = 0; i < rows.size(); ++i) runs.push_back(run_from(rows, i));
  for (auto& run : runs) KW_TRY(fill_run_details(run));
  return runs;
}

Result<std::vector<RunFile>> PostgresCatalog::run_files(std::int64_t run_id, FileOutcome outcome, std::size_t limit) {
  KW_ASSIGN_OR_RETURN(auto rows, db_->run("SELECT path, outcome, kek_family, kek_version, reason FROM run_files "
                                          "WHERE run_id = $1::bigint AND outcome = $2::text ORDER BY path LIMIT $3::bigint",
                                          pg::Params().integer(run_id).text(file_outcome_name(outcome))
                                              .integer(static_cast<std::int64_t>(limit)),
                                          "listing a run's files"));
  std::vector<RunFile> files;
  for (int i = 0; i < rows.size(); ++i)
    files.push_back({rows.text(i, 0), internal::file_outcome_from(rows.text(i, 1)), rows.text(i, 2),
                     static_cast<std::uint32_t>(rows.integer(i, 3)), rows.text(i, 4)});
  return files;
}

Status PostgresCatalog::retire_if(const std::string& family, std::uint32_t version,
                                  const std::function<Status(const RetireFacts&)>& decide) {
  return in_transaction([&]() -> Status {
    // Exclusive on the family: a DEK writer (shared lock) committed before these counts, or waits and
    // then finds the version retired.
    KW_TRY(lock_family(family, true));
    RetireFacts facts;
    facts.family = family;
    facts.version = version;
    KW_ASSIGN_OR_RETURN(auto versions, kek_versions(family));
    for (const auto& record : versions)
      if (record.version == version && record.state == KekState::retired) facts.already_retired = true;
    KW_ASSIGN_OR_RETURN(auto deks, db_->run("SELECT COUNT(*) FROM deks WHERE kek_family = $1::text AND kek_version = $2::bigint",
                                            pg::Params().text(family).integer(version), "counting DEKs under a version"));
    facts.deks = static_cast<std::uint64_t>(deks.integer(0, 0));
    KW_ASSIGN_OR_RETURN(auto files, db_->run("SELECT path, COUNT(*) OVER () FROM file_refs WHERE kek_family = $1::text AND "
                                             "kek_version = $2::bigint ORDER BY path LIMIT 20",
                                             pg::Params().text(family).integer(version), "listing files under a version"));
    for (int i = 0; i < files.size(); ++i) {
      facts.files.push_back({files.text(i, 0), family, version});
      facts.file_count = static_cast<std::uint64_t>(files.integer(i, 1));
    }
    // The newest run whose target is above `version` (SqliteCatalog::retire_if says why).
    KW_ASSIGN_OR_RETURN(auto newest, db_->run(kNewestRunAbove, pg::Params().text(family).integer(version), "reading rotation runs"));
    if (!newest.empty()) {
      facts.newest_run_after = run_from(newest, 0);
      KW_TRY(fill_run_details(*facts.newest_run_after));
    }
    KW_TRY(decide(facts));
    if (facts.already_retired) return {};
    return set_kek_version_locked({family, version, KekState::retired, 0, now_seconds()});
  });
}

}  // namespace keyward::hierarchy
