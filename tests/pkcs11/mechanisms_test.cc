#include "pkcs11/mechanisms.h"

#include <gtest/gtest.h>

#include "tests/support/test_token.h"

namespace keyward::p11 {
namespace {

TEST(Mechanisms, TestTokenHasWhatKeywardRequires) {
  auto connection = keyward::testing::connect_test_token();
  ASSERT_TRUE(connection);
  auto report = check_mechanisms(connection->token());
  ASSERT_TRUE(report) << report.error().message;
  for (const auto& status : *report) {
    if (status.requirement.required) {
      EXPECT_TRUE(status.flags_ok) << mechanism_name(status.requirement.type);
    }
  }
  EXPECT_TRUE(require_mechanisms(connection->token()));
}

TEST(Mechanisms, Names) {
  EXPECT_EQ(mechanism_name(CKM_AES_KEY_WRAP), "CKM_AES_KEY_WRAP");
  EXPECT_EQ(mechanism_name(0x80000001UL), "CKM_0x80000001");
}

}  // namespace
}  // namespace keyward::p11
