// One audit record: a JSON object on one line, in canonical form (keys sorted, no whitespace), so the
// bytes that are hashed and signed are the bytes on disk. The schema is in docs/AUDIT.md.
//
// Every record carries
//   v     — the schema version (1),
//   log   — the log's ID (random, from its start record): a checkpoint of one log cannot stand in another,
//   seq   — 0, 1, 2, … without gaps, across every process writing the log,
//   prev  — hex SHA-256 of the previous record's exact bytes (the start record: 64 zeros),
//   type  — start | event | usage | checkpoint | seal,
//   time  — UTC with microseconds, who — uid, pid, exe, host, token serial.
// Never key bytes, PINs, passphrases or values: keys are named by label or DEK ID.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace keyward::audit {

inline constexpr std::uint64_t kSchemaVersion = 1;
// The `prev` of the start record.
inline constexpr std::string_view kGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

// What happened, as a hook reports it. `op` is dotted (`kek.create`, `dek.unwrap`, `field.refused`);
// `outcome` is ok, refused (data or policy said no) or failed (the operation could not run).
struct Event {
  std::string op;
  std::string outcome = "ok";
  std::string key;     // a token label (keyward/kek/payments/v2) or a DEK ID (hex); never key bytes
  std::string scope;   // a field scope or a KEK family, when the operation has one
  nlohmann::json details = nlohmann::json::object();
  // A read (a DEK unwrapped to decrypt): with WriterOptions::reads_warn_only, a record that cannot
  // be written does not fail it.
  bool read = false;
};

// A record read back from a log line.
struct ParsedRecord {
  nlohmann::json json;
  std::uint64_t seq = 0;
  std::string log_id;
  std::string prev;
  std::string type;
};

// Parses one line (without its newline) of an audit log. Accepts only the canonical form that
// writers produce, with the fields every record has; re-serialising `json` gives back `line`
// exactly (the property tests/fuzz can check). Never throws. Errors: corrupt_input, naming the field.
Result<ParsedRecord> parse_record_line(std::string_view line);

// The canonical bytes of a record (keys sorted, no whitespace; invalid UTF-8 replaced, never thrown).
std::string canonical(const nlohmann::json& record);

// Hex SHA-256 of a record's exact bytes: the next record's `prev`, and the head the token keeps.
std::string record_hash(std::string_view line);

// The JSON fields of an event record: op, outcome and, when set, key, scope and details.
nlohmann::json event_fields(const Event& event);

}  // namespace keyward::audit
