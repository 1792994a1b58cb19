// verify: a clean hierarchy passes; foreign and loosened objects are named with the attribute.
#include "hierarchy/policy_check.h"

#include "hierarchy/labels.h"
#include "hierarchy/policy.h"
#include "ceremony/transcript_key.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "pkcs11/key_handle_cache.h"
#include "pkcs11/pin_source.h"
#include "tests/support/hierarchy_fixture.h"

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

// Each audit log keeps its own head object under the one label (told apart by CKA_APPLICATION):
// two logs on a token are not a duplicate-label deviation. (The clean-clone CI found verify failing
// after concurrent kek creates left two heads.)
TEST(PolicyCheck, AuditHeadsOfSeveralLogsConform) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  if (!env->hierarchy->module_profile()->data_objects) GTEST_SKIP() << "no CKO_DATA token objects on this module";
  auto lease = env->pool->acquire();
  ASSERT_TRUE(lease);
  std::vector<p11::ObjectHandle> made;
  for (const char* log : {"keyward audit 0001", "keyward audit 0002"}) {
    p11::AttributeTemplate head;
    const std::string value = R"({"hash":"00","seq":1})";
    head.set_ulong(CKA_CLASS, CKO_DATA).set_bool(CKA_TOKEN, true).set_bool(CKA_PRIVATE, true)
        .set_string(CKA_LABEL, "keyward/audit/head").set_string(CKA_APPLICATION, log)
        .set_bytes(CKA_VALUE, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
    auto created = lease->session().create_object(head);
    ASSERT_TRUE(created) << created.error().message;
    made.push_back(*created);
  }
  auto report = verify_token_policy(*env->hierarchy);
  for (auto handle : made) EXPECT_TRUE(lease->session().destroy_object(handle));
  ASSERT_TRUE(report) << report.error().message;
  std::size_t heads = 0;
  for (const auto& check : report->objects) {
    if (check.label != "keyward/audit/head") continue;
    ++heads;
    EXPECT_TRUE(check.ok()) << check.deviations[0].attribute << ": " << check.deviations[0].why;
  }
  EXPECT_GE(heads, 2u);
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


// The attacker of issue 9: with only the user PIN and a raw PKCS#11 client (the pkcs11/ layer, no
// hierarchy code), unwrap a KEK's blob under the root as a persistent token object with another
// label and no unwrap template. The module lets it (the root's template cannot pin CKA_TOKEN or the
// copy's own CKA_UNWRAP_TEMPLATE: docs/KEY-POLICY.md); verify must find it by KW fingerprint.
Result<p11::ObjectHandle> clone_from_blob(p11::Session& session, const std::string& root_label_text,
                                          const std::vector<std::uint8_t>& wrapped, const std::string& clone_label) {
  KW_ASSIGN_OR_RETURN(auto root, p11::find_unique_object(session, root_label_text, CKO_SECRET_KEY));
  // What the root's CKA_UNWRAP_TEMPLATE forces is readable by anyone logged in: ask for exactly
  // that, plus CKA_TOKEN and a label of the attacker's choice.
  KW_ASSIGN_OR_RETURN(auto forced, session.get_template_attribute(root, CKA_UNWRAP_TEMPLATE));
  p11::AttributeTemplate t;
  for (const auto& a : forced) t.set_bytes(a.type, a.bytes);
  if (forced.empty()) {  // NSS: nothing enforced; a plain wrapping key
    t.set_ulong(CKA_CLASS, CKO_SECRET_KEY).set_ulong(CKA_KEY_TYPE, CKK_AES).set_bool(CKA_WRAP, true).set_bool(CKA_UNWRAP, true);
  }
  t.erase(CKA_MODIFIABLE);  // SoftHSM applies attributes in order: CKA_MODIFIABLE=false must come last
  t.set_bool(CKA_TOKEN, true).set_string(CKA_LABEL, clone_label);
  if (!forced.empty()) t.set_bool(CKA_MODIFIABLE, false);
  return session.unwrap_key(p11::aes_key_wrap(), root, wrapped, t);
}

const ObjectCheck* check_naming(const PolicyReport& report, const std::string& attribute) {
  for (const auto& check : report.objects)
    if (names_attribute(check, attribute)) return &check;
  return nullptr;
}

TEST(PolicyCheck, FlagsACopyOfAKekUnwrappedFromItsBlobUnderAnotherLabel) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto profile = env->hierarchy->measured_module_profile();
  ASSERT_TRUE(profile);
  // The blob as the attacker finds it: the on-token data object where there is one, else the file.
  auto blob = profile->data_objects ? env->hierarchy->export_kek(env->payments.info.ref) : Result<KekBlob>(env->payments.blob);
  ASSERT_TRUE(blob) << blob.error().message;
  const std::string clone_label = "backup-of-payments";
  p11::ObjectHandle clone = 0;
  {
    auto lease = env->pool->acquire();
    ASSERT_TRUE(lease);
    auto made = clone_from_blob(lease->session(), root_label(blob->root_version), blob->wrapped, clone_label);
    ASSERT_TRUE(made) << "the module refused the copy (then this attack is closed): " << made.error().message;
    clone = *made;
  }
  auto report = verify_token_policy(*env->hierarchy);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->ok());
  const auto* copy = find_check(*report, clone_label);
  ASSERT_NE(copy, nullptr) << "verify must look at secret keys outside keyward's labels";
  EXPECT_EQ(copy->kind, "copy");
  ASSERT_TRUE(names_attribute(*copy, "KW fingerprint"));
  EXPECT_NE(copy->deviations[0].expected.find(env->payments.info.ref.label()), std::string::npos) << copy->deviations[0].expected;

  {
    auto lease = env->pool->acquire();
    ASSERT_TRUE(lease);
    ASSERT_TRUE(lease->session().destroy_object(clone));
  }
  auto after = verify_token_policy(*env->hierarchy);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(find_check(*after, clone_label), nullptr);
  EXPECT_EQ(check_naming(*after, "KW fingerprint"), nullptr);
  if (keyward::testing::module_under_test() == keyward::testing::ModuleKind::softhsm) {
    EXPECT_TRUE(after->ok());
  }
}

TEST(PolicyCheck, ProvesARetiredKekLeftNoCopy) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto profile = env->hierarchy->measured_module_profile();
  ASSERT_TRUE(profile);
  if (!profile->data_objects) GTEST_SKIP() << "NSS softoken keeps no CKO_DATA token objects: no record of destroyed KEKs";
  auto v1 = env->hierarchy->create_kek("retiree");
  ASSERT_TRUE(v1);
  ASSERT_TRUE(env->hierarchy->create_kek("retiree"));
  const std::string clone_label = "kept-after-retire";
  p11::ObjectHandle clone = 0;
  {
    auto lease = env->pool->acquire();
    ASSERT_TRUE(lease);
    auto made = clone_from_blob(lease->session(), root_label(v1->blob.root_version), v1->blob.wrapped, clone_label);
    ASSERT_TRUE(made) << made.error().message;
    clone = *made;
  }
  ASSERT_TRUE(env->hierarchy->destroy_kek(v1->info.ref));  // what retire does
  auto report = verify_token_policy(*env->hierarchy);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->ok());
  const auto* record = find_check(*report, destroyed_kek_label("retiree", 1));
  ASSERT_NE(record, nullptr) << "destroying a KEK records its fingerprint on the token";
  EXPECT_EQ(record->kind, "destroyed-kek");
  ASSERT_TRUE(names_attribute(*record, "surviving copy"));
  EXPECT_EQ(record->deviations[0].actual, clone_label);
  EXPECT_EQ(record->deviations[0].expected.find(v1->info.kcv.kw_fingerprint) != std::string::npos, true);

  {
    auto lease = env->pool->acquire();
    ASSERT_TRUE(lease);
    ASSERT_TRUE(lease->session().destroy_object(clone));
  }
  auto after = verify_token_policy(*env->hierarchy);
  ASSERT_TRUE(after) << after.error().message;
  const auto* clean = find_check(*after, destroyed_kek_label("retiree", 1));
  ASSERT_NE(clean, nullptr);
  EXPECT_TRUE(clean->ok());
  EXPECT_TRUE(after->ok());
}

TEST(PolicyCheck, FlagsAForeignWrappingKey) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  const std::string label = "someone-elses-wrapping-key";
  p11::ObjectHandle key = 0;
  {
    auto lease = env->pool->acquire();
    ASSERT_TRUE(lease);
    p11::AttributeTemplate t;
    t.set_ulong(CKA_CLASS, CKO_SECRET_KEY).set_ulong(CKA_KEY_TYPE, CKK_AES).set_ulong(CKA_VALUE_LEN, 32)
        .set_bool(CKA_TOKEN, true).set_bool(CKA_PRIVATE, true).set_bool(CKA_SENSITIVE, true)
        .set_bool(CKA_WRAP, false).set_bool(CKA_UNWRAP, true).set_string(CKA_LABEL, label);
    auto made = lease->session().generate_key(p11::aes_key_gen(), t);
    ASSERT_TRUE(made) << made.error().message;
    key = *made;
  }
  auto report = verify_token_policy(*env->hierarchy);
  ASSERT_TRUE(report) << report.error().message;
  const auto* foreign = find_check(*report, label);
  ASSERT_NE(foreign, nullptr);
  EXPECT_EQ(foreign->kind, "foreign-key");
  EXPECT_TRUE(names_attribute(*foreign, "CKA_WRAP/CKA_UNWRAP"));
  auto lease = env->pool->acquire();
  ASSERT_TRUE(lease);
  ASSERT_TRUE(lease->session().destroy_object(key));
}

// The transcript key made with a module's defaults (as before issue 9): verify must refuse it.
TEST(PolicyCheck, FlagsATranscriptKeyWithTheModulesDefaults) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  const std::string label = transcript_key_label();
  std::pair<p11::ObjectHandle, p11::ObjectHandle> pair{};
  {
    auto lease = env->pool->acquire();
    ASSERT_TRUE(lease);
    auto existing = p11::find_unique_object(lease->session(), label, CKO_PRIVATE_KEY);
    ASSERT_FALSE(existing) << "this test plants the only transcript key";
    static const std::vector<std::uint8_t> p256 = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    p11::AttributeTemplate pub, priv;
    pub.set_ulong(CKA_CLASS, CKO_PUBLIC_KEY).set_ulong(CKA_KEY_TYPE, CKK_EC).set_bytes(CKA_EC_PARAMS, p256)
        .set_bool(CKA_TOKEN, true).set_bool(CKA_VERIFY, true).set_string(CKA_LABEL, label);
    priv.set_ulong(CKA_CLASS, CKO_PRIVATE_KEY).set_ulong(CKA_KEY_TYPE, CKK_EC).set_bool(CKA_TOKEN, true)
        .set_bool(CKA_PRIVATE, true).set_bool(CKA_SENSITIVE, true).set_bool(CKA_EXTRACTABLE, false)
        .set_bool(CKA_SIGN, true).set_string(CKA_LABEL, label);
    auto made = lease->session().generate_key_pair(p11::Mechanism{CKM_EC_KEY_PAIR_GEN, {}}, pub, priv);
    ASSERT_TRUE(made) << made.error().message;
    pair = *made;
  }
  auto report = verify_token_policy(*env->hierarchy);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->ok());
  const ObjectCheck* signer = nullptr;
  for (const auto& check : report->objects)
    if (check.kind == "transcript-signer") signer = &check;
  ASSERT_NE(signer, nullptr);
  EXPECT_TRUE(names_attribute(*signer, "CKA_MODIFIABLE"));
  if (keyward::testing::module_under_test() == keyward::testing::ModuleKind::softhsm) {
    EXPECT_TRUE(names_attribute(*signer, "CKA_COPYABLE"));
    EXPECT_TRUE(names_attribute(*signer, "CKA_SIGN_RECOVER"));
    EXPECT_TRUE(names_attribute(*signer, "CKA_ALLOWED_MECHANISMS"));
  }
  {
    auto lease = env->pool->acquire();
    ASSERT_TRUE(lease);
    ASSERT_TRUE(lease->session().destroy_object(pair.first));
    ASSERT_TRUE(lease->session().destroy_object(pair.second));
  }
  // keyward's own transcript key conforms.
  auto created = ceremony::ensure_transcript_key(*env->hierarchy);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_TRUE(*created);
  auto after = verify_token_policy(*env->hierarchy);
  ASSERT_TRUE(after) << after.error().message;
  for (const auto& check : after->objects)
    if (check.kind.starts_with("transcript-signer")) {
      EXPECT_TRUE(check.ok()) << check.label << ": " << check.deviations[0].attribute;
    }
}

}  // namespace
}  // namespace keyward::hierarchy
