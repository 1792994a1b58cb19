#include "rotation/rotation_run.h"

#include <algorithm>

#include "rotation/rotation.h"

namespace keyward::rotation {

CatalogPhase in_process_catalog_phase(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog,
                                      std::size_t batch) {
  return [&hierarchy, &catalog, batch](const std::string& family, std::uint32_t target, std::int64_t run_id,
                                       const std::function<void(std::uint64_t)>& progress) -> Status {
    const ProgressCallback report = [&](const RotationProgress& p) { progress(p.done); };
    if (catalog.claims_rewrap_batches()) {
      KW_TRY(rewrap_claimed_batches(hierarchy, catalog, family, target, batch, run_id, report));
    } else {
      KW_TRY(rewrap_catalog(hierarchy, catalog, family, target, Shard{}, batch, report));
    }
    return {};
  };
}

RunVerdict run_verdict(const std::vector<hierarchy::RunRecord>& records,
                       const std::map<std::string, Error>& catalog_errors, const FileRotation& files) {
  const bool complete = std::all_of(records.begin(), records.end(), [](const hierarchy::RunRecord& record) {
    return record.outcome == hierarchy::RunOutcome::complete;
  });
  if (complete) return RunVerdict::complete;
  const bool infrastructure =
      !catalog_errors.empty() || std::any_of(files.failures.begin(), files.failures.end(), [](const FileFailure& failure) {
        return !is_damaged_data(failure.error);
      });
  return infrastructure ? RunVerdict::infrastructure : RunVerdict::damaged_data;
}

Result<RunResult> run_rotation(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog,
                               const RunRequest& request, const CatalogPhase& catalog_phase, RunObserver& observer) {
  KW_ASSIGN_OR_RETURN(auto plan, plan_rotation_run(hierarchy, catalog, request.only_family));
  KW_ASSIGN_OR_RETURN(auto run, begin_rotation_run(catalog, std::move(plan), request.paths));

  RunResult result;
  std::uint64_t pending = 0;
  for (const auto& [family, count] : run.plan.pending) pending += count;
  observer.catalog_started(pending);
  std::uint64_t base = 0;  // DEKs of the families already done, so progress counts over the whole run
  for (const auto& [family, target] : run.plan.targets) {
    auto ran = catalog_phase(family, target, run.run_ids.at(family),
                             [&](std::uint64_t done) { observer.catalog_progress(base + done); });
    // A family whose catalog phase failed is recorded incomplete; the others, and the files, go on.
    if (!ran) {
      observer.catalog_failed(family, ran.error());
      result.catalog_errors.emplace(family, ran.error());
    }
    base += run.plan.pending.at(family);
  }
  observer.catalog_finished(base);

  if (!run.paths.empty()) {
    observer.files_started();
    KW_ASSIGN_OR_RETURN(result.files, rewrap_run_files(hierarchy, catalog, run, [&](const RotationProgress& p) {
                          observer.files_progress(p.done, p.total);
                        }));
    observer.files_finished(result.files);
  }
  KW_ASSIGN_OR_RETURN(result.records, finish_rotation_run(catalog, run, result.catalog_errors, result.files));
  result.verdict = run_verdict(result.records, result.catalog_errors, result.files);
  return result;
}

}  // namespace keyward::rotation
