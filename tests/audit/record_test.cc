#include "audit/record.h"

#include <gtest/gtest.h>

namespace keyward::audit {
namespace {

std::string good_line() {
  nlohmann::json record{{"v", 1}, {"seq", 3}, {"log", "ab"}, {"prev", std::string(kGenesisHash)}, {"type", "event"},
                        {"time", "2026-12-01T00:00:00.000000Z"}, {"who", {{"uid", 0}}}, {"op", "kek.create"}};
  return canonical(record);
}

TEST(AuditRecord, ParsesWhatItWritesAndReserialisesToTheSameBytes) {
  auto parsed = parse_record_line(good_line());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->seq, 3u);
  EXPECT_EQ(parsed->type, "event");
  EXPECT_EQ(canonical(parsed->json), good_line());
}

TEST(AuditRecord, RefusesNonCanonicalAndIncompleteLines) {
  std::string spaced = good_line();
  spaced.insert(1, " ");
  EXPECT_FALSE(parse_record_line(spaced));
  EXPECT_FALSE(parse_record_line(""));
  EXPECT_FALSE(parse_record_line("[1,2]"));
  EXPECT_FALSE(parse_record_line(good_line().substr(0, 20)));
  auto without_prev = nlohmann::json::parse(good_line());
  without_prev.erase("prev");
  EXPECT_FALSE(parse_record_line(canonical(without_prev)));
  auto wrong_version = nlohmann::json::parse(good_line());
  wrong_version["v"] = 2;
  EXPECT_FALSE(parse_record_line(canonical(wrong_version)));
  auto short_prev = nlohmann::json::parse(good_line());
  short_prev["prev"] = "00";
  EXPECT_FALSE(parse_record_line(canonical(short_prev)));
}

TEST(AuditRecord, InvalidUtf8InAFieldIsReplacedNotThrown) {
  Event event{"field.refused", "refused", "", std::string("sc\xff" "ope"), {}};
  const std::string text = canonical(event_fields(event));
  EXPECT_NE(text.find("sc"), std::string::npos);
  EXPECT_EQ(text.find('\xff'), std::string::npos);
}

}  // namespace
}  // namespace keyward::audit
