// keyward-rotate status
#include <nlohmann/json.hpp>

#include <iostream>

#include "rotation/rotation.h"
#include "tools/common/cli.h"
#include "tools/keyward_rotate/context.h"

namespace keyward::cli {

int run_status(const RotateOptions& options) {
  auto context = open_rotate_context(options);
  if (!context) return report("keyward-rotate", context.error());
  auto families = hierarchy::rotation_status(*context->token.hierarchy, *context->catalog);
  if (!families) return report("keyward-rotate", families.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : *families) {
    nlohmann::json family{{"family", f.family}, {"token_versions", f.token_versions},
                          {"rotation_in_progress", f.rotation_in_progress()}};
    for (const auto& [version, count] : f.deks_by_version) family["deks_by_version"][std::to_string(version)] = count;
    for (const auto& v : f.versions) family["catalog_versions"][std::to_string(v.version)] = hierarchy::kek_state_name(v.state);
    if (f.rotation) family["rotation_target"] = f.rotation->target_version;
    family["runs"] = nlohmann::json::array();
    for (const auto& run : f.recent_runs)
      family["runs"].push_back({{"run_id", run.run_id}, {"target_version", run.target_version}, {"started", run.started},
                                {"finished", run.finished}, {"outcome", hierarchy::run_outcome_name(run.outcome)},
                                {"catalog_complete", run.catalog_complete}, {"paths", run.paths},
                                {"files_rewrapped", run.files_rewrapped}, {"files_current", run.files_current},
                                {"files_failed", run.files_failed}, {"reason", run.reason}});
    out.push_back(family);
  }
  if (options.json) {
    std::cout << out.dump(2) << "\n";
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
      std::cout << "  run " << run.run_id << " to v" << run.target_version << ": " << hierarchy::run_outcome_name(run.outcome)
                << (run.outcome == hierarchy::RunOutcome::running ? " (or killed)" : "") << "; covered the catalog";
      for (const auto& path : run.paths) std::cout << ", " << path;
      std::cout << " (files: " << run.files_rewrapped << " rewrapped, " << run.files_current << " current, " << run.files_failed
                << " failed)" << (run.reason.empty() ? "" : "; " + run.reason) << "\n";
    }
  }
  if (families->empty()) std::cout << "no KEK families on the token\n";
  return kExitOk;
}

}  // namespace keyward::cli
