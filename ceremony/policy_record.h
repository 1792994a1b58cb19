// The key-policy check (hierarchy/policy_check.h) as ceremony records: what `verify` prints with
// --json and records, and the short summary init and recover add to their transcript entries.
#pragma once

#include <nlohmann/json.hpp>

#include "hierarchy/key_hierarchy.h"
#include "hierarchy/policy_check.h"

namespace keyward::ceremony {

// {"ok", "module_limits", "objects": [{"label", "kind", "ok", "deviations": [{attribute, expected, actual, why}]}]}
nlohmann::json policy_report_json(const hierarchy::PolicyReport& report);

// Runs the check: {"ok": bool, "objects": n, "deviations": ["label: attribute", ...], "module_limits": [...]},
// or {"ok": false, "error": message} when the check itself failed (a summary never fails the step).
nlohmann::json policy_check_summary(hierarchy::KeyHierarchy& hierarchy);

}  // namespace keyward::ceremony
