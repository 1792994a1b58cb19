#include "ceremony/policy_record.h"

namespace keyward::ceremony {

nlohmann::json policy_report_json(const hierarchy::PolicyReport& report) {
  nlohmann::json out;
  out["ok"] = report.ok();
  out["module_limits"] = report.module_limits;
  for (const auto& check : report.objects) {
    nlohmann::json object{{"label", check.label}, {"kind", check.kind}, {"ok", check.ok()}};
    for (const auto& d : check.deviations)
      object["deviations"].push_back({{"attribute", d.attribute}, {"expected", d.expected}, {"actual", d.actual}, {"why", d.why}});
    out["objects"].push_back(object);
  }
  return out;
}

nlohmann::json policy_check_summary(hierarchy::KeyHierarchy& hierarchy) {
  auto report = hierarchy::verify_token_policy(hierarchy);
  if (!report) return {{"ok", false}, {"error", report.error().message}};
  nlohmann::json out{{"ok", report->ok()}, {"objects", report->objects.size()}, {"module_limits", report->module_limits}};
  out["deviations"] = nlohmann::json::array();
  for (const auto& check : report->objects)
    for (const auto& d : check.deviations) out["deviations"].push_back(check.label + ": " + d.attribute);
  return out;
}

}  // namespace keyward::ceremony
