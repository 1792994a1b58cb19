#include "rotation/status_json.h"

#include <string>

namespace keyward::rotation {

nlohmann::json rotation_status_json(const std::vector<FamilyStatus>& families) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : families) {
    nlohmann::json family{{"family", f.family}, {"token_versions", f.token_versions},
                          {"rotation_in_progress", f.rotation_in_progress()}};
    for (const auto& [version, count] : f.deks_by_version) family["deks_by_version"][std::to_string(version)] = count;
    for (const auto& v : f.versions)
      family["catalog_versions"][std::to_string(v.version)] = hierarchy::kek_state_name(v.state);
    if (f.rotation) family["rotation_target"] = f.rotation->target_version;
    family["runs"] = nlohmann::json::array();
    for (const auto& run : f.recent_runs)
      family["runs"].push_back({{"run_id", run.run_id}, {"target_version", run.target_version}, {"started", run.started},
                                {"finished", run.finished}, {"outcome", hierarchy::run_outcome_name(run.outcome)},
                                {"catalog_complete", run.catalog_complete}, {"paths", run.paths},
                                {"files_rewrapped", run.files_rewrapped}, {"files_current", run.files_current},
                                {"files_failed", run.files_failed}, {"reason", run.reason},
                                {"host", run.host}, {"deks_rewrapped", run.deks_rewrapped},
                                {"rewraps_already_done", run.rewraps_already_done}});
    out.push_back(family);
  }
  return out;
}

}  // namespace keyward::rotation
