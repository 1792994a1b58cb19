// Verifying an audit log: the chain, the checkpoints' signatures and the token's head.
//
// Finds the first record that is wrong and says how:
//   edited        — a record's bytes changed (the next record's prev does not match, or it no longer
//                   parses or is not canonical), or it belongs to another log;
//   missing       — seq jumps: records were removed (or the start record is gone);
//   reordered     — a seq comes back later in the file: records were moved;
//   truncated     — the token's head names a checkpoint the log no longer holds;
//   bad_signature — a checkpoint's signature does not verify;
//   other_token   — checkpoints or the start record name another token or key, or the token keeps no
//                   head for this log although it has checkpoints.
// A partial line (a torn write) is reported, not a failure: sealed by a later writer's seal record,
// or unsealed as the last line. Records after the last checkpoint are covered by the chain only: an
// edit there is found, their removal is not (docs/AUDIT.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/anchor.h"
#include "base/error.h"

namespace keyward::audit {

enum class Problem { edited, missing, reordered, truncated, bad_signature, other_token, partial_line };
std::string_view problem_name(Problem problem);

struct Finding {
  Problem kind;
  std::uint64_t line = 0;            // 1-based line of the file
  std::optional<std::uint64_t> seq;  // the record it names, when known
  std::string why;
};

struct VerifyReport {
  std::string log_id;
  std::uint64_t records = 0;        // complete records read
  std::uint64_t checkpoints = 0;
  std::optional<std::uint64_t> last_checkpoint_seq;
  std::optional<Head> token_head;   // what the token keeps for this log (anchored only)
  bool anchored = false;            // checked against a token's key and head
  std::vector<Finding> partial_lines;     // torn writes: reported, accepted
  std::optional<Finding> first_problem;   // the first thing wrong; none: intact

  bool intact() const { return !first_problem; }
};

// Verifies the log at `path`. With `anchor`, checkpoints must verify under its key and the log must
// reach its head; without, the start record's key is used and truncation cannot be seen. Errors: io
// (unreadable file), token (the head could not be read). Tampering is a report, not an error.
Result<VerifyReport> verify_log(const std::string& path, Anchor* anchor);

// One line for each finding and the summary, for tools.
std::string describe(const Finding& finding);

}  // namespace keyward::audit
