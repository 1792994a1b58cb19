// KEK blobs whose versions are out of 32-bit range or of another JSON type (found by
// tests/fuzz/kek_blob_fuzz.cc; reproducer in tests/fuzz/corpus/kek_blob_fuzz/crash-*). Before,
// version 2^32+2 was imported as version 2.
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "hierarchy/kek_blob.h"

namespace keyward::hierarchy {
namespace {

std::string blob_with(const char* field, const nlohmann::json& value) {
  KekBlob blob{"payments", 2, 1, "0011223344556677", "8899aabbccddeeff", std::vector<std::uint8_t>(40, 9)};
  auto j = nlohmann::json::parse(blob.to_json());
  j[field] = value;
  return j.dump();
}

TEST(KekBlobNumbers, AWellFormedBlobParses) {
  auto blob = KekBlob::from_json(blob_with("version", 4294967295u));
  ASSERT_TRUE(blob) << blob.error().message;
  EXPECT_EQ(blob->kek_version, 4294967295u);
}

TEST(KekBlobNumbers, VersionsOfAnotherTypeOrRangeAreRefusedNotConverted) {
  for (const char* field : {"version", "root_version"}) {
    for (const auto& value : {nlohmann::json(4294967298ull), nlohmann::json(-2), nlohmann::json(2.5), nlohmann::json("2")}) {
      auto blob = KekBlob::from_json(blob_with(field, value));
      ASSERT_FALSE(blob) << field << " = " << value.dump() << " was read as " << blob->kek_version;
      EXPECT_EQ(blob.error().category, ErrorCategory::corrupt_input) << field << " = " << value.dump();
    }
  }
}

}  // namespace
}  // namespace keyward::hierarchy
