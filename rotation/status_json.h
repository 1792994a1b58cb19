// `keyward-rotate status --json`: the rotation state of every family, for monitoring.
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

#include "rotation/rotation.h"

namespace keyward::rotation {

// An array with one object per family: family, token_versions, rotation_in_progress,
// deks_by_version, catalog_versions (version → state), rotation_target (while one runs), and runs
// (newest first: id, target, times, outcome, paths, file counts, reason). No key material.
nlohmann::json rotation_status_json(const std::vector<FamilyStatus>& families);

}  // namespace keyward::rotation
