// Each way of tampering with a log, derived from one good log, and what verify says about it.
#include "audit/verify.h"

#include <gtest/gtest.h>

#include "audit/record.h"
#include "tests/audit/audit_test_support.h"

namespace keyward::audit {
namespace {

using testing::fresh_log_path;
using testing::manual_options;
using testing::read_lines;
using testing::test_anchor;
using testing::write_lines;

// A log of 12 events with a checkpoint after every 5 records and a last one at close.
std::string good_log(const std::string& name) {
  const std::string path = fresh_log_path(name);
  auto log = AuditLog::open(path, test_anchor(), manual_options(5));
  EXPECT_TRUE(log) << log.error().message;
  for (int i = 0; i < 12; ++i)
    AUDIT_EXPECT_OK((*log)->record(Event{"kek.create", "ok", "keyward/kek/k" + std::to_string(i) + "/v1", "", {}}));
  AUDIT_EXPECT_OK((*log)->close());
  return path;
}

VerifyReport verified(const std::string& path) {
  auto report = verify_log(path, test_anchor().get());
  EXPECT_TRUE(report) << report.error().message;
  return report ? *report : VerifyReport{};
}

std::uint64_t seq_of(const std::string& line) { return nlohmann::json::parse(line)["seq"].get<std::uint64_t>(); }

TEST(AuditVerify, AnUntouchedLogIsIntactAndReachesTheTokensHead) {
  const std::string path = good_log("good");
  VerifyReport report = verified(path);
  EXPECT_TRUE(report.intact()) << describe(*report.first_problem);
  EXPECT_TRUE(report.anchored);
  EXPECT_GE(report.checkpoints, 3u);
  ASSERT_TRUE(report.token_head);
  EXPECT_EQ(report.token_head->seq, report.last_checkpoint_seq);
  EXPECT_EQ(report.records, read_lines(path).size());
}

TEST(AuditVerify, OneChangedByteIsNamedAsAnEditOfThatRecord) {
  const std::string path = good_log("byte");
  auto lines = read_lines(path);
  const std::size_t victim = 3;  // an event before the first checkpoint
  auto at = lines[victim].find("keyward/kek/k");
  ASSERT_NE(at, std::string::npos);
  lines[victim][at + 13] = 'X';  // still canonical JSON: only the chain can tell
  write_lines(path, lines);
  VerifyReport report = verified(path);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.first_problem->kind, Problem::edited) << describe(*report.first_problem);
  EXPECT_EQ(report.first_problem->seq, seq_of(lines[victim]));
  EXPECT_EQ(report.first_problem->line, victim + 1);
}

TEST(AuditVerify, ADeletedRecordIsNamedAsMissing) {
  const std::string path = good_log("deleted");
  auto lines = read_lines(path);
  const std::uint64_t removed = seq_of(lines[4]);
  lines.erase(lines.begin() + 4);
  write_lines(path, lines);
  VerifyReport report = verified(path);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.first_problem->kind, Problem::missing) << describe(*report.first_problem);
  EXPECT_NE(report.first_problem->why.find(std::to_string(removed)), std::string::npos) << report.first_problem->why;
}

TEST(AuditVerify, TwoSwappedRecordsAreNamedAsReordered) {
  const std::string path = good_log("swapped");
  auto lines = read_lines(path);
  std::swap(lines[2], lines[3]);
  write_lines(path, lines);
  VerifyReport report = verified(path);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.first_problem->kind, Problem::reordered) << describe(*report.first_problem);
  EXPECT_EQ(report.first_problem->line, 3u);
}

TEST(AuditVerify, RecordsCutFromTheEndAreFoundThroughTheTokensHead) {
  const std::string path = good_log("cut");
  auto lines = read_lines(path);
  // Remove everything from the last checkpoint on: the chain that is left is internally sound.
  while (nlohmann::json::parse(lines.back())["type"] != "checkpoint") lines.pop_back();
  lines.pop_back();
  write_lines(path, lines);
  auto unanchored = verify_log(path, nullptr);
  ASSERT_TRUE(unanchored);
  EXPECT_TRUE(unanchored->intact()) << "without the token a clean cut is invisible: that is what the head is for";
  VerifyReport report = verified(path);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.first_problem->kind, Problem::truncated) << describe(*report.first_problem);
}

TEST(AuditVerify, AnAlteredCheckpointSignatureIsABadSignature) {
  const std::string path = good_log("signature");
  auto lines = read_lines(path);
  std::size_t checkpoint = 0;
  while (nlohmann::json::parse(lines[checkpoint])["type"] != "checkpoint") ++checkpoint;
  auto record = nlohmann::json::parse(lines[checkpoint]);
  std::string sig = record["sig"];
  sig[10] = sig[10] == 'A' ? 'B' : 'A';
  record["sig"] = sig;
  lines[checkpoint] = canonical(record);
  // The attacker also fixes the next record's prev, so only the signature can tell.
  auto next = nlohmann::json::parse(lines[checkpoint + 1]);
  next["prev"] = record_hash(lines[checkpoint]);
  lines[checkpoint + 1] = canonical(next);
  write_lines(path, lines);
  auto report = verify_log(path, test_anchor().get());
  ASSERT_TRUE(report);
  ASSERT_FALSE(report->intact());
  EXPECT_EQ(report->first_problem->kind, Problem::bad_signature) << describe(*report->first_problem);
  EXPECT_EQ(report->first_problem->line, checkpoint + 1);
}

TEST(AuditVerify, ALogFromAnotherTokenIsRefused) {
  if (!keyward::testing::can_make_more_tokens()) GTEST_SKIP() << "needs a second token";
  auto other_token = keyward::testing::make_another_token("audit-other");
  auto connection = p11::Connection::open(other_token.parsed_uri());
  ASSERT_TRUE(connection) << connection.error().message;
  auto other_anchor = TokenAnchor::open(*connection, true);
  ASSERT_TRUE(other_anchor) << other_anchor.error().message;
  const std::string path = fresh_log_path("other");
  {
    auto log = AuditLog::open(path, *other_anchor, manual_options(3));
    ASSERT_TRUE(log);
    for (int i = 0; i < 7; ++i) AUDIT_EXPECT_OK((*log)->record(Event{"dek.generate", "ok", "", "", {}}));
    AUDIT_EXPECT_OK((*log)->close());
  }
  auto own = verify_log(path, other_anchor->get());
  ASSERT_TRUE(own);
  EXPECT_TRUE(own->intact());
  VerifyReport report = verified(path);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.first_problem->kind, Problem::other_token) << describe(*report.first_problem);
}

TEST(AuditVerify, AForeignRecordSplicedInIsAnEdit) {
  const std::string a = good_log("splice-a");
  const std::string b = good_log("splice-b");
  auto lines = read_lines(a);
  lines[2] = read_lines(b)[2];
  write_lines(a, lines);
  VerifyReport report = verified(a);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.first_problem->kind, Problem::edited) << describe(*report.first_problem);
}

}  // namespace
}  // namespace keyward::audit
