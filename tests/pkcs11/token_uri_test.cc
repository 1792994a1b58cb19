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

TEST(TokenUri, AMisspeltPinAttributeIsKeptOutOfTheRedactedForm) {
  // Found by tests/fuzz/token_uri_fuzz.cc: p11-kit keeps unknown query attributes, and the redacted
  // form printed them with their values.
  for (const char* text : {"pkcs11:token=a?pin_value=Typo1Pin", "pkcs11:token=a?pinvalue=Typo1Pin&module-path=/m.so",
                           "pkcs11:token=a?x-pin=Typo1Pin", "pkcs11:token=a?pi=x%3Fpin-value%3DTypo1Pin"}) {
    auto uri = TokenUri::parse(text);
    ASSERT_TRUE(uri) << text;
    EXPECT_EQ(uri->redacted().find("Typo1Pin"), std::string::npos) << uri->redacted();
  }
  auto kept = TokenUri::parse("pkcs11:token=a;serial=42?module-path=/m.so&pin-source=env:PIN&x-init-reserved=flags%3Dx&x-pin=1");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->redacted(), "pkcs11:serial=42;token=a?pin-source=env%3APIN&module-path=%2Fm.so&x-init-reserved=flags%3Dx")
      << "what keyward reads stays printable";
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
