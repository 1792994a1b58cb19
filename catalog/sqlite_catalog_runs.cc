// SqliteCatalog: rotation runs, their per-file progress, and retire's check-and-mark transaction.
#include "catalog/internal/catalog_text.h"
#include "catalog/sqlite_catalog.h"
#include "catalog/sqlite_statement.h"

namespace keyward::hierarchy {
namespace {

using internal::file_outcome_from;
using internal::now_seconds;
using internal::run_outcome_from;

#define KEYWARD_RUN_COLUMNS \
  "SELECT run_id, family, target_version, started, finished, outcome, catalog_complete, reason, host, deks_rewrapped, "\
  "rewraps_already_done FROM rotation_runs "
// prepare() caches statements by the address of their SQL: string literals only.
constexpr const char* kRunsOfFamily = KEYWARD_RUN_COLUMNS "WHERE family = ? ORDER BY run_id DESC LIMIT ?";
constexpr const char* kNewestRunAbove = KEYWARD_RUN_COLUMNS "WHERE family = ? AND target_version > ? ORDER BY run_id DESC LIMIT 1";
#undef KEYWARD_RUN_COLUMNS

}  // namespace

const char* run_outcome_name(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::running: return "running";
    case RunOutcome::complete: return "complete";
    case RunOutcome::incomplete: return "incomplete";
  }
  return "unknown";
}

const char* file_outcome_name(FileOutcome outcome) {
  switch (outcome) {
    case FileOutcome::rewrapped: return "rewrapped";
    case FileOutcome::current: return "current";
    case FileOutcome::failed: return "failed";
  }
  return "unknown";
}

Status SqliteCatalog::in_write_transaction(const std::function<Status()>& body) {
  KW_TRY(exec("BEGIN IMMEDIATE"));
  auto done = body();
  if (!done) {
    (void)exec("ROLLBACK");
    return done;
  }
  return exec("COMMIT");
}

Result<std::int64_t> SqliteCatalog::begin_run(const std::string& family, std::uint32_t target,
                                              const std::vector<std::string>& paths) {
  std::int64_t run_id = 0;
  KW_TRY(in_write_transaction([&]() -> Status {
    KW_ASSIGN_OR_RETURN(auto insert, prepare("INSERT INTO rotation_runs (family, target_version, started, outcome, host) "
                                             "VALUES (?, ?, ?, 'running', ?)"));
    insert.bind(1, family).bind(2, std::int64_t{target}).bind(3, now_seconds()).bind(4, run_host());
    if (insert.step() != SQLITE_DONE) return fail(sqlite_error("recording a rotation run"));
    run_id = sqlite3_last_insert_rowid(db_);
    KW_ASSIGN_OR_RETURN(auto path_row, prepare("INSERT OR IGNORE INTO run_paths (run_id, path) VALUES (?, ?)"));
    for (const auto& path : paths) {
      path_row.bind(1, run_id).bind(2, path);
      if (path_row.step() != SQLITE_DONE) return fail(sqlite_error("recording a run's path"));
      path_row.reset();
    }
    return {};
  }));
  return run_id;
}

Status SqliteCatalog::record_run_file(const std::vector<std::int64_t>& run_ids, const RunFile& file) {
  // One commit per file, without its own fsync: a committed WAL frame survives the death of the
  // process (the kill this progress is for), and the WAL is sequential, so the run's closing commit
  // (synchronous=FULL) makes every earlier row durable too. A power loss can only lose the newest
  // rows of a run that is then still "running", which keeps retire refused; the files themselves
  // say what they are under. An fsync per file would make a run over a million files take hours.
  KW_TRY(exec("PRAGMA synchronous=NORMAL"));
  auto recorded = record_run_file_locked(run_ids, file);
  KW_TRY(exec("PRAGMA synchronous=FULL"));
  return recorded;
}

Status SqliteCatalog::record_run_file_locked(const std::vector<std::int64_t>& run_ids, const RunFile& file) {
  return in_write_transaction([&]() -> Status {
    const auto now = now_seconds();
    KW_ASSIGN_OR_RETURN(auto row, prepare("INSERT INTO run_files (run_id, path, outcome, kek_family, kek_version, reason, recorded) "
                                          "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, path) DO UPDATE SET "
                                          "outcome = excluded.outcome, kek_family = excluded.kek_family, "
                                          "kek_version = excluded.kek_version, reason = excluded.reason, recorded = excluded.recorded"));
    for (const auto run_id : run_ids) {
      row.bind(1, run_id).bind(2, file.path).bind(3, file_outcome_name(file.outcome)).bind(4, file.kek_family);
      row.bind(5, std::int64_t{file.kek_version}).bind(6, file.reason).bind(7, now);
      if (row.step() != SQLITE_DONE) return fail(sqlite_error("recording a file's rotation progress"));
      row.reset();
    }
    if (file.kek_family.empty()) return {};
    // The reference retire counts: this file's key section is under (family, version) now.
    KW_ASSIGN_OR_RETURN(auto ref, prepare("INSERT INTO file_refs (path, kek_family, kek_version, scanned) VALUES (?, ?, ?, ?) "
                                          "ON CONFLICT (path) DO UPDATE SET kek_family = excluded.kek_family, "
                                          "kek_version = excluded.kek_version, scanned = excluded.scanned"));
    ref.bind(1, file.path).bind(2, file.kek_family).bind(3, std::int64_t{file.kek_version}).bind(4, now);
    if (ref.step() != SQLITE_DONE) return fail(sqlite_error("recording a file reference"));
    return {};
  });
}

Status SqliteCatalog::finish_run(std::int64_t run_id, bool catalog_complete, RunOutcome outcome, const std::string& reason) {
  KW_ASSIGN_OR_RETURN(auto update, prepare("UPDATE rotation_runs SET finished = ?, outcome = ?, catalog_complete = ?, reason = ? "
                                           "WHERE run_id = ?"));
  update.bind(1, now_seconds()).bind(2, run_outcome_name(outcome)).bind(3, std::int64_t{catalog_complete ? 1 : 0});
  update.bind(4, reason).bind(5, run_id);
  if (update.step() != SQLITE_DONE) return fail(sqlite_error("finishing a rotation run"));
  return {};
}

Result<RunRecord> SqliteCatalog::run_from_row(Statement& row) {
  RunRecord run;
  run.run_id = row.integer(0);
  run.family = row.text(1);
  run.target_version = static_cast<std::uint32_t>(row.integer(2));
  run.started = row.integer(3);
  run.finished = row.integer(4);
  run.outcome = run_outcome_from(row.text(5));
  run.catalog_complete = row.integer(6) != 0;
  run.reason = row.text(7);
  run.host = row.text(8);
  run.deks_rewrapped = static_cast<std::uint64_t>(row.integer(9));
  run.rewraps_already_done = static_cast<std::uint64_t>(row.integer(10));
  return run;
}

Status SqliteCatalog::fill_run_details(RunRecord& run) {
  KW_ASSIGN_OR_RETURN(auto paths, prepare("SELECT path FROM run_paths WHERE run_id = ? ORDER BY path"));
  paths.bind(1, run.run_id);
  int rc;
  while ((rc = paths.step()) == SQLITE_ROW) run.paths.push_back(paths.text(0));
  if (rc != SQLITE_DONE) return fail(sqlite_error("listing a run's paths"));
  KW_ASSIGN_OR_RETURN(auto counts, prepare("SELECT outcome, COUNT(*) FROM run_files WHERE run_id = ? GROUP BY outcome"));
  counts.bind(1, run.run_id);
  while ((rc = counts.step()) == SQLITE_ROW) {
    const auto n = static_cast<std::uint64_t>(counts.integer(1));
    switch (file_outcome_from(counts.text(0))) {
      case FileOutcome::rewrapped: run.files_rewrapped = n; break;
      case FileOutcome::current: run.files_current = n; break;
      case FileOutcome::failed: run.files_failed = n; break;
    }
  }
  if (rc != SQLITE_DONE) return fail(sqlite_error("counting a run's files"));
  return {};
}

Result<std::vector<RunRecord>> SqliteCatalog::runs(const std::string& family, std::size_t limit) {
  std::vector<RunRecord> runs;
  {
    KW_ASSIGN_OR_RETURN(auto query, prepare(kRunsOfFamily));
    query.bind(1, family).bind(2, static_cast<std::int64_t>(limit));
    int rc;
    while ((rc = query.step()) == SQLITE_ROW) {
      KW_ASSIGN_OR_RETURN(auto run, run_from_row(query));
      runs.push_back(std::move(run));
    }
    if (rc != SQLITE_DONE) return fail(sqlite_error("listing rotation runs"));
  }
  for (auto& run : runs) KW_TRY(fill_run_details(run));
  return runs;
}

Result<std::vector<RunFile>> SqliteCatalog::run_files(std::int64_t run_id, FileOutcome outcome, std::size_t limit) {
  KW_ASSIGN_OR_RETURN(auto query, prepare("SELECT path, outcome, kek_family, kek_version, reason FROM run_files "
                                          "WHERE run_id = ? AND outcome = ? ORDER BY path LIMIT ?"));
  query.bind(1, run_id).bind(2, file_outcome_name(outcome)).bind(3, static_cast<std::int64_t>(limit));
  std::vector<RunFile> files;
  int rc;
  while ((rc = query.step()) == SQLITE_ROW)
    files.push_back({query.text(0), file_outcome_from(query.text(1)), query.text(2), static_cast<std::uint32_t>(query.integer(3)),
                     query.text(4)});
  if (rc != SQLITE_DONE) return fail(sqlite_error("listing a run's files"));
  return files;
}

Status SqliteCatalog::retire_if(const std::string& family, std::uint32_t version,
                                const std::function<Status(const RetireFacts&)>& decide) {
  return in_write_transaction([&]() -> Status {
    RetireFacts facts;
    facts.family = family;
    facts.version = version;
    KW_ASSIGN_OR_RETURN(auto versions, kek_versions(family));
    for (const auto& record : versions)
      if (record.version == version && record.state == KekState::retired) facts.already_retired = true;
    {
      KW_ASSIGN_OR_RETURN(auto deks, prepare("SELECT COUNT(*) FROM deks WHERE kek_family = ? AND kek_version = ?"));
      deks.bind(1, family).bind(2, std::int64_t{version});
      if (deks.step() != SQLITE_ROW) return fail(sqlite_error("counting DEKs under a version"));
      facts.deks = static_cast<std::uint64_t>(deks.integer(0));
    }
    {
      KW_ASSIGN_OR_RETURN(auto files, prepare("SELECT path, COUNT(*) OVER () FROM file_refs WHERE kek_family = ? AND kek_version = ? "
                                              "ORDER BY path LIMIT 20"));
      files.bind(1, family).bind(2, std::int64_t{version});
      int rc;
      while ((rc = files.step()) == SQLITE_ROW) {
        facts.files.push_back({files.text(0), family, version});
        facts.file_count = static_cast<std::uint64_t>(files.integer(1));
      }
      if (rc != SQLITE_DONE) return fail(sqlite_error("listing files under a version"));
    }
    {
      // The newest run whose target is above `version`: it started after `version` stopped being
      // the newest (its target was the newest version when it started). No clock involved.
      KW_ASSIGN_OR_RETURN(auto newest, prepare(kNewestRunAbove));
      newest.bind(1, family).bind(2, std::int64_t{version});
      const int rc = newest.step();
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail(sqlite_error("reading rotation runs"));
      if (rc == SQLITE_ROW) {
        KW_ASSIGN_OR_RETURN(auto run, run_from_row(newest));
        facts.newest_run_after = std::move(run);
      }
    }
    if (facts.newest_run_after) KW_TRY(fill_run_details(*facts.newest_run_after));
    KW_TRY(decide(facts));
    if (facts.already_retired) return {};
    return set_kek_version({family, version, KekState::retired, 0, now_seconds()});
  });
}

}  // namespace keyward::hierarchy
