#include "tools/keyward_ceremony/policy_summary.h"

#include "hierarchy/policy_check.h"

namespace keyward::cli {

nlohmann::json summarize_policy(hierarchy::KeyHierarchy& hierarchy) {
  auto report = hierarchy::verify_token_policy(hierarchy);
  if (!report) return {{"ok", false}, {"error", report.error().message}};
  nlohmann::json out{{"ok", report->ok()}, {"objects", report->objects.size()}, {"module_limits", report->module_limits}};
  out["deviations"] = nlohmann::json::array();
  for (const auto& check : report->objects)
    for (const auto& d : check.deviations) out["deviations"].push_back(check.label + ": " + d.attribute);
  return out;
}

}  // namespace keyward::cli
