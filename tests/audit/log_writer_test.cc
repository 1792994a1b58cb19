// The writer: chaining across writers, torn writes sealed, reads warn-only, usage records.
#include "audit/log_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "audit/recorder.h"
#include "audit/usage.h"
#include "audit/verify.h"
#include "tests/audit/audit_test_support.h"

namespace keyward::audit {
namespace {

using testing::fresh_log_path;
using testing::manual_options;
using testing::read_all;
using testing::read_lines;
using testing::test_anchor;

TEST(AuditLogWriter, RecordsCarryWhoAndWhenAndNoCheckpointWithoutAnAnchor) {
  const std::string path = fresh_log_path("who");
  auto log = AuditLog::open(path, nullptr, manual_options());
  ASSERT_TRUE(log) << log.error().message;
  AUDIT_EXPECT_OK((*log)->record(Event{"kek.create", "ok", "keyward/kek/payments/v1", "payments", {}}));
  AUDIT_EXPECT_OK((*log)->close());
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);  // start, event: no anchor, no checkpoint
  auto event = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(event["op"], "kek.create");
  EXPECT_EQ(event["who"]["pid"], static_cast<std::uint64_t>(::getpid()));
  EXPECT_EQ(event["who"]["uid"], static_cast<std::uint64_t>(::getuid()));
  EXPECT_FALSE(event["who"]["exe"].get<std::string>().empty());
  EXPECT_FALSE(event["who"]["host"].get<std::string>().empty());
  EXPECT_EQ(event["time"].get<std::string>().back(), 'Z');
  auto report = verify_log(path, nullptr);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->intact());
  EXPECT_FALSE(report->anchored);
}

TEST(AuditLogWriter, TheTokenSerialIsInEveryRecordOfAnAnchoredLog) {
  const std::string path = fresh_log_path("serial");
  auto log = AuditLog::open(path, test_anchor(), manual_options());
  ASSERT_TRUE(log);
  AUDIT_EXPECT_OK((*log)->record(Event{"dek.generate", "ok", "", "", {}}));
  AUDIT_EXPECT_OK((*log)->close());
  for (const auto& line : read_lines(path))
    EXPECT_EQ(nlohmann::json::parse(line)["who"]["token"], test_anchor()->token_serial());
}

TEST(AuditLogWriter, TwoWritersOnOneFileMakeOneChain) {
  const std::string path = fresh_log_path("two-writers");
  auto first = AuditLog::open(path, test_anchor(), manual_options(7));
  auto second = AuditLog::open(path, test_anchor(), manual_options(11));
  ASSERT_TRUE(first && second);
  std::thread a([&] {
    for (int i = 0; i < 50; ++i) AUDIT_EXPECT_OK((*first)->record(Event{"dek.unwrap", "ok", "a", "", {}}));
  });
  std::thread b([&] {
    for (int i = 0; i < 50; ++i) AUDIT_EXPECT_OK((*second)->record(Event{"dek.unwrap", "ok", "b", "", {}}));
  });
  a.join();
  b.join();
  AUDIT_EXPECT_OK((*first)->close());
  AUDIT_EXPECT_OK((*second)->close());
  auto report = verify_log(path, test_anchor().get());
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->intact()) << describe(*report->first_problem);
  EXPECT_GE(report->records, 101u);
}

TEST(AuditLogWriter, APartialLastLineIsReportedThenSealedByTheNextWriter) {
  const std::string path = fresh_log_path("partial");
  {
    auto log = AuditLog::open(path, test_anchor(), manual_options());
    ASSERT_TRUE(log);
    AUDIT_EXPECT_OK((*log)->record(Event{"kek.create", "ok", "", "", {}}));
    AUDIT_EXPECT_OK((*log)->close());
  }
  const std::string torn = "{\"log\":\"torn write";
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << torn;
  }
  auto before = verify_log(path, test_anchor().get());
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->intact()) << describe(*before->first_problem);
  ASSERT_EQ(before->partial_lines.size(), 1u);

  auto next = AuditLog::open(path, test_anchor(), manual_options());
  ASSERT_TRUE(next) << next.error().message;
  AUDIT_EXPECT_OK((*next)->record(Event{"kek.create", "ok", "", "", {}}));
  AUDIT_EXPECT_OK((*next)->close());
  auto after = verify_log(path, test_anchor().get());
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->intact()) << describe(*after->first_problem);
  ASSERT_EQ(after->partial_lines.size(), 1u);
  EXPECT_NE(after->partial_lines[0].why.find("sealed"), std::string::npos);
  EXPECT_EQ(read_all(path).back(), '\n');
}

TEST(AuditLogWriter, AGarbageLineThatNoSealNamesIsAnEdit) {
  const std::string path = fresh_log_path("garbage");
  auto log = AuditLog::open(path, nullptr, manual_options());
  ASSERT_TRUE(log);
  AUDIT_EXPECT_OK((*log)->record(Event{"kek.create", "ok", "", "", {}}));
  AUDIT_EXPECT_OK((*log)->close());
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << "not a record\n";
  }
  auto report = verify_log(path, nullptr);
  ASSERT_TRUE(report);
  ASSERT_FALSE(report->intact());
  EXPECT_EQ(report->first_problem->kind, Problem::edited);
  // And a writer refuses to extend it.
  EXPECT_FALSE(AuditLog::open(path, nullptr, manual_options()));
}

TEST(AuditLogWriter, AFailedRecordFailsAWriteButOnlyWarnsForAReadWhenConfigured) {
  const std::string path = fresh_log_path("failing");
  WriterOptions options = manual_options();
  options.reads_warn_only = true;
  auto log = AuditLog::open(path, nullptr, options);
  ASSERT_TRUE(log);
  AUDIT_EXPECT_OK((*log)->record(Event{"kek.create", "ok", "", "", {}}));
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);  // the log cut under the writer: it must not go on
  Event write{"kek.create", "ok", "", "", {}};
  EXPECT_FALSE((*log)->record(write));
  Event read{"dek.unwrap", "ok", "", "", {}};
  read.read = true;
  AUDIT_EXPECT_OK((*log)->record(read));
  EXPECT_EQ((*log)->dropped_reads(), 1u);

  WriterOptions strict = manual_options();
  const std::string strict_path = fresh_log_path("failing-strict");
  auto strict_log = AuditLog::open(strict_path, nullptr, strict);
  ASSERT_TRUE(strict_log);
  ASSERT_EQ(::truncate(strict_path.c_str(), 0), 0);
  EXPECT_FALSE((*strict_log)->record(read));
}

TEST(AuditLogWriter, UsageCountersBecomeOneRecordPerDekPerFlush) {
  const std::string path = fresh_log_path("usage");
  auto log = AuditLog::open(path, nullptr, manual_options());
  ASSERT_TRUE(log);
  install(*log);
  UsageCounter* counter = usage_counter("00aa", "tenant-1");
  ASSERT_NE(counter, nullptr);
  EXPECT_EQ(counter, usage_counter("00aa", "tenant-1"));
  for (int i = 0; i < 1000; ++i) counter->add_encryption(10);
  counter->add_decryption(5);
  AUDIT_EXPECT_OK((*log)->flush_usage());
  AUDIT_EXPECT_OK((*log)->flush_usage());  // nothing new: no record
  install(nullptr);
  EXPECT_EQ(usage_counter("00bb", "tenant-1"), nullptr);
  AUDIT_EXPECT_OK((*log)->close());
  int usage_records = 0;
  for (const auto& line : read_lines(path)) {
    auto record = nlohmann::json::parse(line);
    if (record["type"] != "usage") continue;
    ++usage_records;
    EXPECT_EQ(record["key"], "00aa");
    EXPECT_EQ(record["scope"], "tenant-1");
    EXPECT_EQ(record["details"]["encryptions"], 1000);
    EXPECT_EQ(record["details"]["decryptions"], 1);
    EXPECT_EQ(record["details"]["bytes"], 10005);
  }
  EXPECT_EQ(usage_records, 1);
}

TEST(AuditLogWriter, RecordRefusalRecordsAndReturnsTheRefusal) {
  const std::string path = fresh_log_path("refusal");
  auto log = AuditLog::open(path, nullptr, manual_options());
  ASSERT_TRUE(log);
  install(*log);
  Error error = record_refusal("field.decrypt", "00cc", "tenant-2",
                               Error{ErrorCategory::authentication, "field value does not authenticate", std::nullopt});
  install(nullptr);
  EXPECT_EQ(error.category, ErrorCategory::authentication);
  AUDIT_EXPECT_OK((*log)->close());
  auto lines = read_lines(path);
  auto record = nlohmann::json::parse(lines.back());
  EXPECT_EQ(record["outcome"], "refused");
  EXPECT_EQ(record["key"], "00cc");
  EXPECT_EQ(record["details"]["category"], "authentication");
}

}  // namespace
}  // namespace keyward::audit
