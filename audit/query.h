// Reading an audit log for people and monitors: filtered records (`keyward audit show`) and refusal
// counts over a window (`keyward audit alerts`). Reading trusts nothing: run verify for integrity.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace keyward::audit {

struct RecordFilter {
  std::string key;    // exact key label or DEK ID
  std::string scope;  // exact scope or KEK family
  std::string op;     // exact op, or a prefix ending in '.' ("kek." for every KEK operation)
  std::optional<std::string> since, until;  // UTC, ISO 8601 ("2026-12-01T10:00:00Z"); since ≤ time < until
};

// The log's records that match `filter`, in log order. Lines that do not parse are skipped (verify
// reports them). Errors: io.
Result<std::vector<nlohmann::json>> read_records(const std::string& path, const RecordFilter& filter);

// One line for a person: time, seq, op, outcome, key, scope, who.
std::string format_record(const nlohmann::json& record);

struct AlertOptions {
  std::chrono::seconds window{3600};
  std::uint64_t threshold = 5;  // alert when refusals in the window reach this
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

struct Alert {
  std::string subject;  // "key" or "uid"
  std::string name;     // the key (label or DEK ID) or the uid
  std::uint64_t refusals = 0;
  std::string first, last;  // times of the first and last refusal in the window
};

// Refusals (outcome "refused") per key and per uid within the window, where they reach the threshold.
std::vector<Alert> refusal_alerts(const std::vector<nlohmann::json>& records, const AlertOptions& options);

// A UTC time as the log writes it, for comparisons with `time` (second precision).
std::string utc_text(std::chrono::system_clock::time_point time);

}  // namespace keyward::audit
