#include "pkcs11/pin_source.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/support/test_token.h"

namespace keyward::p11 {
namespace {

std::string as_text(const SecretBytes& pin) { return {pin.reveal().begin(), pin.reveal().end()}; }

TEST(PinSource, FileDropsTheLineEnd) {
  auto path = testing::write_private_file(testing::scratch_dir("pins") + "/a.pin", "1234abcd\n");
  auto pin = read_pin("file:" + path);
  ASSERT_TRUE(pin) << pin.error().message;
  EXPECT_EQ(as_text(*pin), "1234abcd");
  auto plain_path = read_pin(path);
  ASSERT_TRUE(plain_path);
  EXPECT_TRUE(plain_path->equals(*pin));
}

TEST(PinSource, RefusesAFileOthersCanRead) {
  auto path = testing::write_private_file(testing::scratch_dir("pins") + "/loose.pin", "secret-pin-value\n");
  ::chmod(path.c_str(), 0644);
  auto pin = read_pin("file:" + path);
  ASSERT_FALSE(pin);
  EXPECT_NE(pin.error().message.find("chmod 600"), std::string::npos);
  EXPECT_EQ(pin.error().message.find("secret-pin-value"), std::string::npos);
}

TEST(PinSource, MissingFileNamesThePath) {
  auto pin = read_pin("file:/nonexistent/keyward.pin");
  ASSERT_FALSE(pin);
  EXPECT_EQ(pin.error().category, ErrorCategory::io);
  EXPECT_NE(pin.error().message.find("/nonexistent/keyward.pin"), std::string::npos);
}

TEST(PinSource, ASecretGivenAsTheSourceIsNeverEchoed) {
  // Issue 9: pin-source=<PIN> or --passphrase-source '<passphrase>' by mistake was quoted verbatim.
  for (const char* mistaken : {"Mistaken7Pin", "correct horse battery staple", "pin-value=123456"}) {
    for (const char* what : {"user PIN", "custodian passphrase", ""}) {
      auto pin = read_pin(mistaken, what);
      ASSERT_FALSE(pin) << mistaken;
      EXPECT_EQ(pin.error().category, ErrorCategory::usage);
      EXPECT_EQ(pin.error().message.find(mistaken), std::string::npos) << pin.error().message;
      EXPECT_NE(pin.error().message.find("file:PATH"), std::string::npos) << "says what to give instead";
    }
  }
}

TEST(PinSource, EnvironmentVariable) {
  ::setenv("KEYWARD_TEST_PIN_VAR", "from-env", 1);
  auto pin = read_pin("env:KEYWARD_TEST_PIN_VAR");
  ASSERT_TRUE(pin);
  EXPECT_EQ(as_text(*pin), "from-env");
  ::unsetenv("KEYWARD_TEST_PIN_VAR");
  EXPECT_FALSE(read_pin("env:KEYWARD_TEST_PIN_VAR"));
}

TEST(PinSource, UnknownFormIsAUsageError) {
  auto pin = read_pin("|/bin/echo 1234");
  ASSERT_FALSE(pin);
  EXPECT_EQ(pin.error().category, ErrorCategory::usage);
}

}  // namespace
}  // namespace keyward::p11
