// verify: a clean hierarchy passes; foreign and loosened objects are named with the attribute.
#include "hierarchy/policy_check.h"

#include "hierarchy/policy.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "pkcs11/key_handle_cache.h"
#include "pkcs11/pin_source.h"
#include "tests/hierarchy/hierarchy_fixture.h"

namespace keyward::hierarchy {
namespace {

using testing::hierarchy_env;

const ObjectCheck* find_check(const PolicyReport& report, const std::string& label) {
  for (const auto& check : report.objects)
    if (check.label == label) return &check;
  return nullptr;
}

bool names_attribute(const ObjectCheck& check, const std::string& attribute) {
  for (const auto& d : check.deviations)
    if (d.attribute == attribute) return true;
  return false;
}

void destroy_label(const std::string& label) {
  auto* env = hierarchy_env();
  auto lease = env->pool->acquire();
  ASSERT_TRUE(lease);
  auto handle = p11::find_unique_object(lease->session(), label, CKO_SECRET_KEY);
  ASSERT_TRUE(handle) << handle.error().message;
  ASSERT_TRUE(lease->session().destroy_object(*handle));
  env->pool->key_handles().forget(label);
}

TEST(PolicyCheck, FreshHierarchyConforms) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto report = verify_token_policy(*env->hierarchy);
  ASSERT_TRUE(report) << report.error().message;
  const auto* root = find_check(*report, env->root.label);
  const auto* kek = find_check(*report, env->payments.info.ref.label());
  ASSERT_TRUE(root && kek);
  if (keyward::testing::module_under_test() == keyward::testing::ModuleKind::softhsm) {
    EXPECT_TRUE(report->module_limits.empty());
    for (const auto& check : report->objects) {
      EXPECT_TRUE(check.ok()) << check.label << ": " << (check.deviations.empty() ? "" : check.deviations[0].attribute);
    }
  } else {
    EXPECT_FALSE(report->module_limits.empty()) << "NSS's limits must be reported";
    EXPECT_TRUE(root->ok()) << root->deviations[0].attribute;
  }
}

TEST(PolicyCheck, FlagsAKeyMadeByPkcs11ToolWithAKeywardLabel) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  if (keyward::testing::module_under_test() == keyward::testing::ModuleKind::nss)
    GTEST_SKIP() << "pkcs11-tool cannot pass NSS softoken its C_Initialize parameters";
  const auto& token = keyward::testing::test_token();
  auto pin = p11::read_pin("file:" + token.user_pin_file);
  ASSERT_TRUE(pin);
  SecretBytes terminated(pin->size() + 1);
  std::copy(pin->reveal().begin(), pin->reveal().end(), terminated.reveal_mutable().begin());
  ::setenv("KEYWARD_TEST_P11TOOL_PIN", reinterpret_cast<const char*>(terminated.reveal().data()), 1);
  const std::string label = "keyward/kek/payments/v90";
  std::string output;
  // pkcs11-tool's defaults: encrypt/decrypt/wrap/unwrap all allowed, no allowed-mechanism list.
  int status = keyward::testing::run_command("pkcs11-tool --module " + token.module_path + " --token-label '" +
                                                 token.label + "' --login --pin env:KEYWARD_TEST_P11TOOL_PIN" +
                                                 " --keygen --key-type AES:32 --label " + label + " 2>&1",
                                             &output);
  ::unsetenv("KEYWARD_TEST_P11TOOL_PIN");
  ASSERT_EQ(status, 0) << output;

  auto report = verify_token_policy(*env->hierarchy);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->ok());
  const auto* foreign = find_check(*report, label);
  ASSERT_NE(foreign, nullptr);
  EXPECT_TRUE(names_attribute(*foreign, "CKA_DECRYPT"));
  EXPECT_TRUE(names_attribute(*foreign, "CKA_ENCRYPT"));
  EXPECT_TRUE(names_attribute(*foreign, "CKA_ALLOWED_MECHANISMS"));
  EXPECT_TRUE(names_attribute(*foreign, "KEK blob")) << "a KEK without a root-wrapped blob is not provably ours";
  const auto* genuine = find_check(*report, env->payments.info.ref.label());
  ASSERT_NE(genuine, nullptr);
  EXPECT_TRUE(genuine->ok());
  destroy_label(label);
}

TEST(PolicyCheck, FlagsAStrictLookingKekThatIsNotTheBlobsKey) {
  // A planted KEK: every flag right, but not the key its root-wrapped blob holds. Only the blob
  // comparison can tell.
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto profile = env->hierarchy->module_profile();
  ASSERT_TRUE(profile);
  if (!profile->data_objects) GTEST_SKIP() << "module keeps no KEK blobs on the token";
  auto real = env->hierarchy->create_kek("planted");
  ASSERT_TRUE(real);
  const std::string label = real->info.ref.label();
  destroy_label(label);
  {
    auto lease = env->pool->acquire();
    ASSERT_TRUE(lease);
    p11::AttributeTemplate strict = policy::kek_unwrap_template(label, {}, true, *profile);
    strict.set_ulong(CKA_VALUE_LEN, 32);
    auto impostor = lease->session().generate_key(p11::aes_key_gen(), strict);
    ASSERT_TRUE(impostor) << impostor.error().message;
  }
  auto report = verify_token_policy(*env->hierarchy);
  ASSERT_TRUE(report) << report.error().message;
  const auto* check = find_check(*report, label);
  ASSERT_NE(check, nullptr);
  EXPECT_TRUE(names_attribute(*check, "KCV"));
  destroy_label(label);
}

}  // namespace
}  // namespace keyward::hierarchy
