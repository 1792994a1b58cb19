#include "pkcs11/rv.h"

#include <gtest/gtest.h>

#include "pkcs11/ck.h"

namespace keyward::p11 {
namespace {

TEST(CkRv, NamesAndHints) {
  EXPECT_EQ(ck_rv_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
  EXPECT_EQ(ck_rv_name(CKR_VENDOR_DEFINED + 5), "CKR_VENDOR_DEFINED+0x5");
  EXPECT_FALSE(ck_rv_hint(CKR_PIN_INCORRECT).empty());
}

TEST(CkRv, ErrorNamesFunctionCodeAndHint) {
  Error error = token_error("C_Login", CKR_PIN_INCORRECT);
  EXPECT_EQ(error.category, ErrorCategory::token);
  ASSERT_TRUE(error.ck_rv);
  EXPECT_EQ(*error.ck_rv, CKR_PIN_INCORRECT);
  EXPECT_NE(error.message.find("C_Login: CKR_PIN_INCORRECT"), std::string::npos);
  EXPECT_NE(error.message.find("pin-source"), std::string::npos);
  EXPECT_EQ(exit_code_for(error.category), 3);
}

TEST(CkRv, TamperedWrappedKeyIsAnAuthenticationFailure) {
  EXPECT_EQ(token_error("C_UnwrapKey", CKR_WRAPPED_KEY_INVALID).category, ErrorCategory::authentication);
  EXPECT_EQ(token_error("C_UnwrapKey", CKR_ENCRYPTED_DATA_INVALID).category, ErrorCategory::authentication);
}

TEST(CkRv, GeneralErrorNamesWhatSoftHsmMeansByIt) {
  const auto message = token_error("C_GetTokenInfo", CKR_GENERAL_ERROR).message;
  EXPECT_NE(message.find("C_GetTokenInfo: CKR_GENERAL_ERROR"), std::string::npos);
  EXPECT_NE(message.find("wrong KEK"), std::string::npos) << message;
  EXPECT_NE(message.find("docs/ROTATION.md"), std::string::npos) << message;
}

TEST(CkRv, LostSessionCodes) {
  EXPECT_TRUE(is_lost_session(CKR_SESSION_HANDLE_INVALID));
  EXPECT_TRUE(is_lost_session(CKR_USER_NOT_LOGGED_IN));
  EXPECT_FALSE(is_lost_session(CKR_PIN_INCORRECT));
}

}  // namespace
}  // namespace keyward::p11
