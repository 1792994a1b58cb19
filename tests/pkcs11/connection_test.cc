// Loading a module by URI, logging in, and the errors a user meets on the way.
#include "pkcs11/connection.h"

#include <gtest/gtest.h>

#include "pkcs11/rv.h"
#include "tests/support/test_token.h"

namespace keyward::p11 {
namespace {

using keyward::testing::test_token;

TEST(Connection, LoadsByUriAndLogsInWithPinSource) {
  auto connection = Connection::open(test_token().parsed_uri());
  ASSERT_TRUE(connection) << connection.error().message;
  EXPECT_TRUE((*connection)->logged_in());
  auto session = (*connection)->open_session();
  ASSERT_TRUE(session);
  auto state = session->state();
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, CKS_RW_USER_FUNCTIONS);
}

TEST(Connection, WrongPinNamesCkrPinIncorrect) {
  auto wrong = keyward::testing::write_private_file(keyward::testing::scratch_dir("pins") + "/wrong.pin", "0000wrong\n");
  auto uri = TokenUri::parse(test_token().uri_with_pin_file(wrong));
  ASSERT_TRUE(uri);
  auto connection = Connection::open(*uri);
  ASSERT_FALSE(connection);
  ASSERT_TRUE(connection.error().ck_rv);
  EXPECT_EQ(*connection.error().ck_rv, CKR_PIN_INCORRECT);
  EXPECT_NE(connection.error().message.find("C_Login: CKR_PIN_INCORRECT"), std::string::npos);
  EXPECT_EQ(connection.error().message.find("0000wrong"), std::string::npos) << "PIN leaked into the message";
}

TEST(Connection, UnknownTokenListsTheTokensPresent) {
  std::string uri_text = test_token().uri;
  auto at = uri_text.find("?");
  uri_text = "pkcs11:token=no-such-token" + uri_text.substr(at);
  auto uri = TokenUri::parse(uri_text);
  ASSERT_TRUE(uri);
  auto connection = Connection::open(*uri);
  ASSERT_FALSE(connection);
  EXPECT_EQ(connection.error().category, ErrorCategory::not_found);
  EXPECT_NE(connection.error().message.find("no-such-token"), std::string::npos);
  EXPECT_NE(connection.error().message.find(test_token().label), std::string::npos)
      << "the error should list the tokens present: " << connection.error().message;
}

TEST(Connection, MissingModuleIsAClearError) {
  auto uri = TokenUri::parse("pkcs11:token=x?module-path=/nonexistent/libmodule.so&pin-value=1");
  ASSERT_TRUE(uri);
  auto connection = Connection::open(*uri);
  ASSERT_FALSE(connection);
  EXPECT_NE(connection.error().message.find("/nonexistent/libmodule.so"), std::string::npos);
}

TEST(Connection, UriWithoutPinIsRefusedWithoutPrompt) {
  std::string uri_text = test_token().uri;
  uri_text = uri_text.substr(0, uri_text.find("&pin-source"));
  auto uri = TokenUri::parse(uri_text);
  ASSERT_TRUE(uri);
  if (uri->init_reserved()) GTEST_SKIP() << "NSS URI carries x-init-reserved after pin-source";
  auto connection = Connection::open(*uri);
  ASSERT_FALSE(connection);
  EXPECT_EQ(connection.error().category, ErrorCategory::usage);
}

TEST(Connection, AnchorKeepsLoginWhenWorkSessionsClose) {
  auto connection = keyward::testing::connect_test_token();
  ASSERT_TRUE(connection);
  for (int i = 0; i < 3; ++i) {
    auto session = connection->open_session();
    ASSERT_TRUE(session);
  }  // every work session closed; the anchor still holds the login
  auto session = connection->open_session();
  ASSERT_TRUE(session);
  auto state = session->state();
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, CKS_RW_USER_FUNCTIONS);
}

}  // namespace
}  // namespace keyward::p11
