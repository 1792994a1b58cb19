// One whole `keyward-rotate run`: plan, catalog phase per family, envelope files, records, verdict.
//
// The steps are those of rotation_runs.h; this file holds the decisions between them: a family whose
// catalog phase fails is recorded incomplete while the other families and the files go on, and the
// verdict tells damaged data (rerunning will not help) from infrastructure trouble (it may).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "hierarchy/key_hierarchy.h"
#include "rotation/rotation_runs.h"

namespace keyward::rotation {

// Rewraps the catalog DEKs of one family below `target` for run `run_id` (its record in the catalog),
// calling `progress(done)` with the DEKs rewrapped so far for this family. In this process
// (in_process_catalog_phase) or in worker processes (worker_processes.h); the run does not care which.
using CatalogPhase = std::function<Status(const std::string& family, std::uint32_t target, std::int64_t run_id,
                                          const std::function<void(std::uint64_t done)>& progress)>;

// The catalog phase done here, with this process's token session: claimed batches where the catalog
// shares them between processes (PostgreSQL: other runs on other hosts take part), else the whole ID
// space in order.
CatalogPhase in_process_catalog_phase(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog,
                                      std::size_t batch);

// What a run reports while it works, in this order: catalog_started, catalog_progress and
// catalog_failed (per family), catalog_finished; then, only when the run was given paths,
// files_started, files_progress, files_finished. All default to doing nothing.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void catalog_started(std::uint64_t /*pending*/) {}
  virtual void catalog_progress(std::uint64_t /*done*/) {}
  virtual void catalog_failed(const std::string& /*family*/, const Error& /*error*/) {}
  virtual void catalog_finished(std::uint64_t /*done*/) {}
  virtual void files_started() {}
  virtual void files_progress(std::uint64_t /*done*/, std::uint64_t /*total*/) {}
  virtual void files_finished(const FileRotation& /*files*/) {}
};

struct RunRequest {
  std::string only_family;         // empty: every family with a KEK on the token
  std::vector<std::string> paths;  // envelope files or directories
};

enum class RunVerdict {
  complete,        // every family's run completed: the rotation is finished
  damaged_data,    // only files whose bytes cannot be rewrapped stand in the way (exit 1)
  infrastructure,  // a catalog phase or a file failed for a reason outside the data (exit 3): rerun
};

struct RunResult {
  std::vector<hierarchy::RunRecord> records;  // one per family, as stored
  std::map<std::string, Error> catalog_errors;
  FileRotation files;
  RunVerdict verdict = RunVerdict::complete;
};

// Runs a rotation over the catalog and `request.paths`. Fails (without a verdict) only when the run
// cannot be planned or recorded: no such family, a path that is neither file nor directory, the
// catalog refusing a write. Everything else ends in the records and the verdict.
Result<RunResult> run_rotation(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog,
                               const RunRequest& request, const CatalogPhase& catalog_phase, RunObserver& observer);

// The verdict for a run's outcome (complete records, catalog errors and file failures).
RunVerdict run_verdict(const std::vector<hierarchy::RunRecord>& records,
                       const std::map<std::string, Error>& catalog_errors, const FileRotation& files);

}  // namespace keyward::rotation
