// What a root's CKA_UNWRAP_TEMPLATE can pin on keys unwrapped under it, measured on each module in
// the test matrix (docs/KEY-POLICY.md, "What the root's unwrap template can pin"). If a module
// update changes an answer, this test fails and the table must be updated.
#include <gtest/gtest.h>

#include "hierarchy/module_profile.h"
#include "tests/support/hierarchy_fixture.h"

namespace keyward::hierarchy {
namespace {

TEST(ModuleProfile, UnwrapTemplatePinsAsDocumented) {
  auto* env = testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto profile = env->hierarchy->measured_module_profile();
  ASSERT_TRUE(profile) << profile.error().message;
  const auto& pins = profile->unwrap_pins;
  if (keyward::testing::module_under_test() == keyward::testing::ModuleKind::softhsm) {
    // SoftHSM 2.6.1 C_UnwrapKey: every attribute of the template must be in the caller's, byte-equal.
    EXPECT_TRUE(pins.token);
    EXPECT_TRUE(pins.label);
    EXPECT_TRUE(pins.allowed_mechanisms);
    // P11AttrUnwrapTemplate refuses a nested CKA_UNWRAP_TEMPLATE (CKR_ATTRIBUTE_VALUE_INVALID).
    EXPECT_FALSE(pins.nested_template);
  } else {
    // NSS 3.87 stores CKA_UNWRAP_TEMPLATE and enforces none of it.
    EXPECT_FALSE(profile->unwrap_template);
    EXPECT_FALSE(pins.token || pins.label || pins.allowed_mechanisms || pins.nested_template);
  }
}

}  // namespace
}  // namespace keyward::hierarchy
