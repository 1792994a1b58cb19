// Audit logs (audit/verify.h verify_log, audit/record.h parse_record_line), read by `keyward audit
// verify|show|alerts` and by every writer that opens a log (its last line). The seeds are logs written
// by AuditLog with checkpoints signed by the fuzz fixture key, one with a torn line sealed by a later
// writer. Properties: never crashes; verify fails only for io, tampering is a report; a line that
// parses re-serialises to itself; every finding names a line of the file; an intact log is every line
// a record or a reported partial line; a log intact under the anchor (signatures checked) is intact
// without it too.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "audit/anchor.h"
#include "audit/log_writer.h"
#include "audit/record.h"
#include "audit/verify.h"
#include "tests/fuzz/fixture_key.h"
#include "tests/fuzz/fuzz_target.h"

using namespace keyward;

namespace {

// An anchor signing with the fixture key. Its head is set by the caller (the token's object).
class FixtureAnchor final : public audit::Anchor {
 public:
  const std::string& token_serial() const override { return serial_; }
  const std::string& public_key_pem() const override { return fuzz::fixture_public_key_pem(); }
  Result<std::vector<std::uint8_t>> sign(std::span<const std::uint8_t> data) override { return fuzz::fixture_sign(data); }
  Status store_head(std::string_view, const audit::Head& head) override {
    head_ = head;
    return {};
  }
  Result<std::optional<audit::Head>> load_head(std::string_view) override { return head_; }

 private:
  std::string serial_ = "fuzz0000fuzz0000";
  std::optional<audit::Head> head_;
};

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::size_t begin = 0; begin < text.size();) {
    const std::size_t end = std::min(text.find('\n', begin), text.size());
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

bool names_a_line(const audit::Finding& finding, std::size_t lines) { return finding.line <= lines + 1; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::text_of(data, size);
  const auto lines = lines_of(text);
  // The head an honest token would keep: the last checkpoint that parses (so signatures get checked).
  FixtureAnchor anchor;
  for (std::string_view line : lines) {
    auto record = audit::parse_record_line(line);
    if (!record) continue;
    FUZZ_CHECK(audit::canonical(record->json) == line);
    if (record->type == "checkpoint") (void)anchor.store_head(record->log_id, {record->seq, audit::record_hash(line)});
  }

  const int fd = fuzz::memory_file({data, size});
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  auto plain = audit::verify_log(path, nullptr);
  auto anchored = audit::verify_log(path, &anchor);
  ::close(fd);
  FUZZ_CHECK(plain.has_value() && anchored.has_value());  // a readable file: tampering is a report
  for (const auto* report : {&*plain, &*anchored}) {
    FUZZ_CHECK(report->records <= lines.size());
    if (report->first_problem) {
      FUZZ_CHECK(names_a_line(*report->first_problem, lines.size()));
      FUZZ_CHECK(!audit::describe(*report->first_problem).empty());
    }
    for (const auto& partial : report->partial_lines) FUZZ_CHECK(names_a_line(partial, lines.size()));
    if (report->intact()) FUZZ_CHECK(report->records + report->partial_lines.size() == lines.size());
  }
  if (anchored->intact()) FUZZ_CHECK(plain->intact());
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  std::vector<std::vector<std::uint8_t>> seeds;
  char dir_template[] = "/tmp/keyward-audit-seed-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (dir == nullptr) return seeds;
  auto read_file = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  auto write_log = [&](const std::string& path, int events) {
    audit::WriterOptions options;
    options.checkpoint_every_records = 3;
    options.background = false;
    auto log = audit::AuditLog::open(path, std::make_shared<FixtureAnchor>(), options);
    if (!log) return;
    for (int i = 0; i < events; ++i) {
      audit::Event event{i % 2 ? "dek.unwrap" : "field.refused", i % 2 ? "ok" : "refused",
                         "keyward/kek/payments/v" + std::to_string(1 + i % 3), "tenant:a", {{"count", i}}};
      (void)(*log)->record(event);
    }
    (void)(*log)->close();
  };
  const std::string whole = std::string(dir) + "/whole.jsonl";
  write_log(whole, 7);
  seeds.push_back(read_file(whole));
  // A torn write: half a line at the end, then a later writer seals it and goes on.
  const std::string torn = std::string(dir) + "/torn.jsonl";
  write_log(torn, 2);
  { std::ofstream(torn, std::ios::app) << R"({"log":"half a rec)"; }
  write_log(torn, 2);
  seeds.push_back(read_file(torn));
  std::filesystem::remove_all(dir);
  return seeds;
}
