// One `keyward-rotate run`, recorded in the catalog as it happens (docs/ROTATION.md, "Runs").
//
// A run gets one record per KEK family it rotates, with the paths it was given. Each envelope file's
// result (rewrapped, already current, failed with the reason) is committed as soon as it is known, so
// a kill loses nothing and retire can tell a complete run from an interrupted one. A file that cannot
// be rewrapped never stops the run: it is listed, and the run (hence the rotation) stays incomplete.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "hierarchy/key_hierarchy.h"
#include "rotation/rotation.h"

namespace keyward::rotation {

struct RunPlan {
  std::map<std::string, std::uint32_t> targets;  // family → target (its newest version on the token)
  std::map<std::string, std::uint64_t> pending;  // family → catalog DEKs below the target
};
// Families with a KEK on the token (only `only_family` if not empty; not_found if it has none).
Result<RunPlan> plan_rotation_run(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const std::string& only_family);

struct ActiveRun {
  RunPlan plan;
  std::map<std::string, std::int64_t> run_ids;  // family → run id
  std::vector<std::string> paths;               // absolute and normalised, as recorded
};
// Records a running run per family. `paths` must each be a file or a directory (usage error otherwise).
Result<ActiveRun> begin_rotation_run(hierarchy::Catalog& catalog, RunPlan plan, const std::vector<std::string>& paths);

struct FileFailure {
  std::string path;
  std::string kek_family;  // empty: the key section could not be read (the failure concerns every family)
  Error error;
};
struct FileRotation {
  std::uint64_t seen = 0, rewrapped = 0, skipped = 0;
  std::vector<std::string> not_envelopes;  // files that do not start with the envelope magic (left alone)
  std::vector<FileFailure> failures;       // damaged envelopes, unreadable files and directories, token failures
};
// Walks the run's paths (following symbolic links, each directory and file once) and rewraps every
// envelope key section under an older version of a family of the run, recording each file in the
// catalog as soon as it is done. Fails only when the catalog cannot record progress.
Result<FileRotation> rewrap_run_files(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const ActiveRun& run,
                                      const ProgressCallback& progress);

// Closes the run's records. A family's run is complete when its catalog phase succeeded (no entry in
// `catalog_errors`), no catalog DEK of it is left below the target, and no file failure concerns it;
// then its rotation is marked finished. Returns the records as stored.
Result<std::vector<hierarchy::RunRecord>> finish_rotation_run(hierarchy::Catalog& catalog, const ActiveRun& run,
                                                   const std::map<std::string, Error>& catalog_errors,
                                                   const FileRotation& files);

// Damaged data (1) rather than infrastructure (3): a file that cannot be rewrapped because of its bytes.
bool is_damaged_data(const Error& error);

}  // namespace keyward::rotation
