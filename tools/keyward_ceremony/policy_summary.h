#pragma once

#include <nlohmann/json.hpp>

#include "hierarchy/key_hierarchy.h"

namespace keyward::cli {

// The policy check as a transcript entry: {"ok": bool, "objects": n, "deviations": [...], "module_limits": [...]}.
nlohmann::json summarize_policy(hierarchy::KeyHierarchy& hierarchy);

}  // namespace keyward::cli
