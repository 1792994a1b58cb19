#include "pkcs11/token_uri.h"

#include <gtest/gtest.h>

namespace keyward::p11 {
namespace {

TEST(TokenUri, ReadsModulePinSourceAndLabel) {
  auto uri = TokenUri::parse("pkcs11:token=keyward-dev?module-path=/usr/lib/x.so&pin-source=file:/tmp/user.pin");
  ASSERT_TRUE(uri) << uri.error().message;
  EXPECT_EQ(uri->module_path(), "/usr/lib/x.so");
  ASSERT_TRUE(uri->pin_source());
  EXPECT_EQ(*uri->pin_source(), "file:/tmp/user.pin");
  ASSERT_TRUE(uri->token_label());
  EXPECT_EQ(*uri->token_label(), "keyward-dev");
  EXPECT_FALSE(uri->has_pin_value());
}

TEST(TokenUri, DefaultsToSoftHsmModule) {
  auto uri = TokenUri::parse("pkcs11:token=a");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->module_path(), KEYWARD_DEFAULT_MODULE);
}

TEST(TokenUri, PinValueIsKeptOutOfTheRedactedForm) {
  auto uri = TokenUri::parse("pkcs11:token=a?pin-value=s3cret-pin");
  ASSERT_TRUE(uri);
  ASSERT_TRUE(uri->has_pin_value());
  auto pin = uri->pin_value();
  ASSERT_TRUE(pin);
  EXPECT_EQ(std::string(pin->reveal().begin(), pin->reveal().end()), "s3cret-pin");
  EXPECT_EQ(uri->redacted().find("s3cret"), std::string::npos);
}

TEST(TokenUri, APinGivenAsPinSourceIsKeptOutOfTheRedactedForm) {
  // Issue 9: pin-source=<PIN> by mistake was quoted in "no token matches <URI>".
  auto uri = TokenUri::parse("pkcs11:token=a?pin-source=Mistaken7Pin");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->redacted().find("Mistaken7Pin"), std::string::npos) << uri->redacted();
  auto file = TokenUri::parse("pkcs11:token=a?pin-source=file:/etc/keyward/user.pin");
  ASSERT_TRUE(file);
  EXPECT_NE(file->redacted().find("user.pin"), std::string::npos) << "a PIN file path is fine to show: " << file->redacted();
}

TEST(TokenUri, PercentEncodedVendorInitParameters) {
  auto uri = TokenUri::parse("pkcs11:token=NSS%20Certificate%20DB?x-init-reserved=configdir%3D%27sql%3A%2Ftmp%2Fdb%27");
  ASSERT_TRUE(uri) << uri.error().message;
  ASSERT_TRUE(uri->init_reserved());
  EXPECT_EQ(*uri->init_reserved(), "configdir='sql:/tmp/db'");
  EXPECT_EQ(*uri->token_label(), "NSS Certificate DB");
}

TEST(TokenUri, RejectsWhatIsNotAPkcs11Uri) {
  for (const char* bad : {"", "token=x", "http://example/", "pkcs11:token=%zz"}) {
    auto uri = TokenUri::parse(bad);
    ASSERT_FALSE(uri) << bad;
    EXPECT_EQ(uri.error().category, ErrorCategory::usage) << bad;
  }
}

}  // namespace
}  // namespace keyward::p11
