// How catalog states are spelled in the database, and the catalog's clock: one spelling for both
// implementations (a PostgreSQL and a SQLite catalog hold the same words).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "catalog/catalog.h"

namespace keyward::hierarchy::internal {

inline std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

inline const char* dek_state_name(DekState state) { return state == DekState::active ? "active" : "superseded"; }

// A kek_versions row as the catalog writes it, else corrupt_input: a damaged row (or one another
// tool wrote) must not read as another version or state (the schema's CHECK guards writes only).
inline Result<KekVersionRecord> kek_version_from(std::string family, bool version_is_integer, std::int64_t version,
                                                 std::string_view state, std::int64_t created, std::int64_t retired,
                                                 const std::string& catalog_name) {
  std::optional<KekState> known;
  if (state == "active") known = KekState::active;
  if (state == "decrypt-only") known = KekState::decrypt_only;
  if (state == "retired") known = KekState::retired;
  if (!version_is_integer || version < 1 || version > UINT32_MAX || !known)
    return make_error(ErrorCategory::corrupt_input, "catalog '" + catalog_name + "': a KEK version row of " + family +
                                                        " is damaged (its version is not a 32-bit number from 1, or its "
                                                        "state unknown); restore the catalog from a backup");
  return KekVersionRecord{std::move(family), static_cast<std::uint32_t>(version), *known, created, retired};
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
