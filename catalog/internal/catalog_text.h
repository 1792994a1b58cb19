// How catalog states are spelled in the database, and the catalog's clock: one spelling for both
// implementations (a PostgreSQL and a SQLite catalog hold the same words).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "catalog/catalog.h"

namespace keyward::hierarchy::internal {

inline std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

inline const char* dek_state_name(DekState state) { return state == DekState::active ? "active" : "superseded"; }

inline KekState kek_state_from(std::string_view text) {
  if (text == "active") return KekState::active;
  if (text == "retired") return KekState::retired;
  return KekState::decrypt_only;
}

inline RunOutcome run_outcome_from(std::string_view text) {
  if (text == "complete") return RunOutcome::complete;
  if (text == "incomplete") return RunOutcome::incomplete;
  return RunOutcome::running;
}

inline FileOutcome file_outcome_from(std::string_view text) {
  if (text == "rewrapped") return FileOutcome::rewrapped;
  if (text == "failed") return FileOutcome::failed;
  return FileOutcome::current;
}

inline std::string shredded_scope_message(const std::string& scope) {
  return "scope '" + scope + "' was crypto-shredded: its keys are gone for good and it cannot be given new ones";
}

inline std::string stale_version_message(const DekRecord& record) {
  return "KEK " + record.kek_family + " v" + std::to_string(record.kek_version) +
         " is no longer its family's current version in the catalog (a rotation started or retired it): "
         "generate the DEK under the newest version";
}

}  // namespace keyward::hierarchy::internal
