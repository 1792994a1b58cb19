#include "audit/verify.h"

#include <fstream>
#include <map>
#include <sstream>

#include "audit/checkpoint.h"
#include "audit/record.h"

namespace keyward::audit {
namespace {

struct Line {
  std::uint64_t number;
  std::uint64_t offset;
  std::string text;
};

std::optional<std::uint64_t> unsigned_at(const nlohmann::json& object, const char* a, const char* b) {
  auto outer = object.find(a);
  if (outer == object.end() || !outer->is_object()) return std::nullopt;
  auto inner = outer->find(b);
  if (inner == outer->end() || !inner->is_number_unsigned()) return std::nullopt;
  return inner->get<std::uint64_t>();
}

std::string string_at(const nlohmann::json& object, const char* a, const char* b = nullptr) {
  auto it = object.find(a);
  if (it == object.end()) return {};
  if (b != nullptr) {
    if (!it->is_object()) return {};
    auto inner = it->find(b);
    return inner != it->end() && inner->is_string() ? inner->get<std::string>() : std::string();
  }
  return it->is_string() ? it->get<std::string>() : std::string();
}

// True if `seal` is the seal record of the partial line `partial`.
bool seals(const ParsedRecord& seal, const Line& partial) {
  return seal.type == "seal" && unsigned_at(seal.json, "partial", "offset") == partial.offset &&
         unsigned_at(seal.json, "partial", "bytes") == partial.text.size() &&
         string_at(seal.json, "partial", "sha256") == record_hash(partial.text);
}

}  // namespace

std::string_view problem_name(Problem problem) {
  switch (problem) {
    case Problem::edited: return "edited";
    case Problem::missing: return "missing";
    case Problem::reordered: return "reordered";
    case Problem::truncated: return "truncated";
    case Problem::bad_signature: return "bad signature";
    case Problem::other_token: return "other token";
    case Problem::partial_line: return "partial line";
  }
  return "unknown";
}

std::string describe(const Finding& finding) {
  std::string text = std::string(problem_name(finding.kind)) + ": line " + std::to_string(finding.line);
  if (finding.seq) text += " (record " + std::to_string(*finding.seq) + ")";
  return text + ": " + finding.why;
}

Result<VerifyReport> verify_log(const std::string& path, Anchor* anchor) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCategory::io, "cannot open audit log '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string content = buffer.str();
  if (in.bad()) return make_error(ErrorCategory::io, "cannot read audit log '" + path + "'");

  std::vector<Line> lines;
  bool ends_partial = false;
  for (std::size_t begin = 0, number = 1; begin < content.size(); ++number) {
    std::size_t end = content.find('\n', begin);
    if (end == std::string::npos) {
      ends_partial = true;
      end = content.size();
    }
    lines.push_back({number, begin, content.substr(begin, end - begin)});
    begin = end + 1;
  }

  VerifyReport report;
  report.anchored = anchor != nullptr;
  std::vector<std::optional<ParsedRecord>> parsed(lines.size());
  std::map<std::uint64_t, std::size_t> where_seq;  // seq → first index, to tell moved from removed
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (ends_partial && i + 1 == lines.size()) break;
    if (auto record = parse_record_line(lines[i].text)) {
      where_seq.emplace(record->seq, i);
      parsed[i] = std::move(*record);
    }
  }

  auto problem = [&](Problem kind, const Line& line, std::optional<std::uint64_t> seq, std::string why) {
    report.first_problem = Finding{kind, line.number, seq, std::move(why)};
    return report;
  };

  std::string start_key_pem;
  std::string previous_hash(kGenesisHash);
  std::uint64_t expected = 0;
  std::map<std::uint64_t, std::string> checkpoint_hashes;  // seq → hash of its line
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Line& line = lines[i];
    if (ends_partial && i + 1 == lines.size()) {
      report.partial_lines.push_back({Problem::partial_line, line.number, std::nullopt,
                                      "the last line is partial (" + std::to_string(line.text.size()) +
                                          " bytes, a torn write); the next writer seals it"});
      break;
    }
    if (!parsed[i]) {
      auto why = parse_record_line(line.text).error().message;
      if (i + 1 < lines.size() && parsed[i + 1] && seals(*parsed[i + 1], line)) {
        report.partial_lines.push_back({Problem::partial_line, line.number, std::nullopt,
                                        "partial line of " + std::to_string(line.text.size()) +
                                            " bytes (a torn write), sealed by record " + std::to_string(parsed[i + 1]->seq)});
        continue;
      }
      return problem(Problem::edited, line, expected, "record " + std::to_string(expected) + " was changed: " + why);
    }
    const ParsedRecord& record = *parsed[i];
    if (i == 0 || report.log_id.empty()) {
      if (record.seq != 0 || record.type != "start")
        return problem(Problem::missing, line, 0, "the log's start record (seq 0) is gone: the log's beginning was removed");
      report.log_id = record.log_id;
      start_key_pem = string_at(record.json, "public_key");
    }
    if (record.log_id != report.log_id)
      return problem(Problem::edited, line, record.seq, "belongs to another log (" + record.log_id + ")");
    if (record.seq != expected) {
      const auto elsewhere = where_seq.find(expected);
      if (record.seq < expected || (elsewhere != where_seq.end() && elsewhere->second > i))
        return problem(Problem::reordered, line, record.seq,
                       "record " + std::to_string(record.seq) + " stands where record " + std::to_string(expected) +
                           " belongs: records were moved");
      return problem(Problem::missing, line, record.seq,
                     "records " + std::to_string(expected) + (record.seq - 1 > expected ? "…" + std::to_string(record.seq - 1) : "") +
                         " are missing before record " + std::to_string(record.seq));
    }
    if (record.prev != previous_hash)
      return problem(Problem::edited, lines[i > 0 ? i - 1 : 0], record.seq > 0 ? std::optional(record.seq - 1) : std::nullopt,
                     "record " + std::to_string(record.seq - 1) + " was changed (record " + std::to_string(record.seq) +
                         " holds the hash of other bytes)");
    const std::string hash = record_hash(line.text);
    if (record.type == "start" && anchor && !start_key_pem.empty() && start_key_pem != anchor->public_key_pem())
      return problem(Problem::other_token, line, record.seq, "the log was started with another token's audit key");
    if (record.type == "checkpoint") {
      const std::string& key = anchor ? anchor->public_key_pem() : start_key_pem;
      if (anchor && string_at(record.json, "signer") != public_key_fingerprint(key))
        return problem(Problem::other_token, line, record.seq,
                       "checkpoint signed by key " + string_at(record.json, "signer") + ", not this token's audit key " +
                           public_key_fingerprint(key) + ": a log from another token");
      if (anchor && string_at(record.json, "who", "token") != anchor->token_serial())
        return problem(Problem::other_token, line, record.seq,
                       "checkpoint made on token " + string_at(record.json, "who", "token") + ", not on " + anchor->token_serial());
      if (!checkpoint_signature_valid(record.json, key))
        return problem(Problem::bad_signature, line, record.seq, "the checkpoint's signature does not verify");
      ++report.checkpoints;
      report.last_checkpoint_seq = record.seq;
      checkpoint_hashes[record.seq] = hash;
    }
    previous_hash = hash;
    ++expected;
    ++report.records;
  }

  if (anchor && !report.log_id.empty()) {
    KW_ASSIGN_OR_RETURN(report.token_head, anchor->load_head(report.log_id));
    const Line& last = lines.empty() ? Line{0, 0, {}} : lines.back();
    if (!report.token_head) {
      if (report.checkpoints > 0)
        return problem(Problem::other_token, last, std::nullopt,
                       "the token keeps no head for log " + report.log_id + ": the log's checkpoints were not made on this token");
    } else {
      const Head& head = *report.token_head;
      auto it = checkpoint_hashes.find(head.seq);
      if (it == checkpoint_hashes.end()) {
        if (head.seq >= expected)
          return problem(Problem::truncated, last, head.seq,
                         "the token's head is checkpoint " + std::to_string(head.seq) + " but the log ends at record " +
                             (expected == 0 ? std::string("none") : std::to_string(expected - 1)) + ": records were removed from the end");
        return problem(Problem::edited, last, head.seq,
                       "record " + std::to_string(head.seq) + " is the token's head checkpoint but is not a checkpoint here");
      }
      if (it->second != head.hash)
        return problem(Problem::other_token, last, head.seq,
                       "checkpoint " + std::to_string(head.seq) + " differs from the one the token recorded");
    }
  }
  return report;
}

}  // namespace keyward::audit
