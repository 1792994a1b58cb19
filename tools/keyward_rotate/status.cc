// keyward-rotate status
#include <iostream>

#include "rotation/rotation.h"
#include "rotation/status_json.h"
#include "tools/common/cli.h"
#include "tools/keyward_rotate/context.h"

namespace keyward::cli {

int run_status(const RotateOptions& options) {
  auto context = open_rotate_context(options);
  if (!context) return report("keyward-rotate", context.error());
  auto families = rotation::rotation_status((*context)->hierarchy(), (*context)->catalog());
  if (!families) return report("keyward-rotate", families.error());
  if (options.json) {
    std::cout << rotation::rotation_status_json(*families).dump(2) << "\n";
    return kExitOk;
  }
  for (const auto& f : *families) {
    std::cout << f.family << ": token versions";
    for (auto v : f.token_versions) std::cout << " v" << v;
    std::cout << (f.rotation_in_progress() ? " — rotation to v" + std::to_string(f.rotation->target_version) + " IN PROGRESS"
                                           : "")
              << "\n";
    for (const auto& [version, count] : f.deks_by_version) std::cout << "  v" << version << ": " << count << " DEK(s)\n";
    for (const auto& run : f.recent_runs) {
      std::cout << "  run " << run.run_id << " to v" << run.target_version << (run.host.empty() ? "" : " on " + run.host) << ": "
                << hierarchy::run_outcome_name(run.outcome) << (run.outcome == hierarchy::RunOutcome::running ? " (or killed)" : "")
                << (run.deks_rewrapped ? "; rewrapped " + std::to_string(run.deks_rewrapped) + " catalog DEK(s)" : "")
                << "; covered the catalog";
      for (const auto& path : run.paths) std::cout << ", " << path;
      std::cout << " (files: " << run.files_rewrapped << " rewrapped, " << run.files_current << " current, " << run.files_failed
                << " failed)" << (run.reason.empty() ? "" : "; " + run.reason) << "\n";
    }
  }
  if (families->empty()) std::cout << "no KEK families on the token\n";
  return kExitOk;
}

}  // namespace keyward::cli
