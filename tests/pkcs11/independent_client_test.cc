// An independent PKCS#11 client (OpenSC's pkcs11-tool) sees the key the layer created, with the
// attributes the layer set.
#include <gtest/gtest.h>

#include <cstdlib>

#include "pkcs11/connection.h"
#include "pkcs11/pin_source.h"
#include "tests/support/test_token.h"

namespace keyward::p11 {
namespace {

TEST(IndependentClient, Pkcs11ToolSeesTheKeyWithOurAttributes) {
  const auto& token = keyward::testing::test_token();
  auto connection = keyward::testing::connect_test_token();
  ASSERT_TRUE(connection);
  auto session = connection->open_session();
  ASSERT_TRUE(session);
  AttributeTemplate t;
  t.set_ulong(CKA_CLASS, CKO_SECRET_KEY)
      .set_ulong(CKA_KEY_TYPE, CKK_AES)
      .set_ulong(CKA_VALUE_LEN, 32)
      .set_string(CKA_LABEL, "keyward/test/visible")
      .set_bool(CKA_TOKEN, true)
      .set_bool(CKA_PRIVATE, true)
      .set_bool(CKA_SENSITIVE, true)
      .set_bool(CKA_EXTRACTABLE, false)
      .set_bool(CKA_ENCRYPT, false)
      .set_bool(CKA_DECRYPT, false)
      .set_bool(CKA_SIGN, false)
      .set_bool(CKA_VERIFY, false)
      .set_bool(CKA_WRAP, true)
      .set_bool(CKA_UNWRAP, true);
  auto key = session->generate_key(aes_key_gen(), t);
  ASSERT_TRUE(key) << key.error().message;

  if (keyward::testing::module_under_test() == keyward::testing::ModuleKind::nss)
    GTEST_SKIP() << "pkcs11-tool calls C_Initialize without pReserved, which NSS softoken needs for its database";

  // pkcs11-tool reads the PIN from an environment variable: never a PIN on a command line.
  auto pin = read_pin("file:" + token.user_pin_file);
  ASSERT_TRUE(pin);
  SecretBytes terminated(pin->size() + 1);
  std::copy(pin->reveal().begin(), pin->reveal().end(), terminated.reveal_mutable().begin());
  ::setenv("KEYWARD_TEST_P11TOOL_PIN", reinterpret_cast<const char*>(terminated.reveal().data()), 1);
  std::string listing;
  int status = keyward::testing::run_command("pkcs11-tool --module " + token.module_path + " --token-label '" +
                                                 token.label + "' --login --pin env:KEYWARD_TEST_P11TOOL_PIN" +
                                                 " --list-objects --type secrkey 2>/dev/null",
                                             &listing);
  ::unsetenv("KEYWARD_TEST_P11TOOL_PIN");
  ASSERT_EQ(status, 0) << listing;
  auto at = listing.find("label:      keyward/test/visible");
  ASSERT_NE(at, std::string::npos) << listing;
  std::string block = listing.substr(at, listing.find("Secret Key Object", at) - at);
  EXPECT_NE(block.find("Usage:      wrap, unwrap"), std::string::npos) << block;
  EXPECT_NE(block.find("never extractable"), std::string::npos) << block;
  EXPECT_NE(block.find("sensitive"), std::string::npos) << block;
  EXPECT_NE(listing.substr(0, at).rfind("AES length 32"), std::string::npos) << listing;
}

}  // namespace
}  // namespace keyward::p11
