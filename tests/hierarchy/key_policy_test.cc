// The root and KEK policy, attacked: every check asserts the token's own refusal (the CKR_* code).
#include <gtest/gtest.h>

#include "hierarchy/policy.h"
#include "pkcs11/key_handle_cache.h"
#include "tests/support/hierarchy_fixture.h"

namespace keyward::hierarchy {
namespace {

using testing::hierarchy_env;

class KeyPolicy : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = hierarchy_env();
    ASSERT_NE(env_, nullptr);
    auto lease = env_->pool->acquire();
    ASSERT_TRUE(lease);
    lease_.emplace(std::move(*lease));
    auto root = p11::find_unique_object(session(), env_->root.label, CKO_SECRET_KEY);
    auto kek = p11::find_unique_object(session(), env_->payments.info.ref.label(), CKO_SECRET_KEY);
    ASSERT_TRUE(root && kek);
    root_ = *root;
    kek_ = *kek;
  }
  p11::Session& session() { return lease_->session(); }
  // A session key an attacker controls: extractable, can wrap, encrypt and decrypt.
  p11::ObjectHandle attacker_key() {
    p11::AttributeTemplate t;
    t.set_ulong(CKA_CLASS, CKO_SECRET_KEY).set_ulong(CKA_KEY_TYPE, CKK_AES).set_ulong(CKA_VALUE_LEN, 32)
        .set_bool(CKA_TOKEN, false).set_bool(CKA_EXTRACTABLE, true).set_bool(CKA_SENSITIVE, false)
        .set_bool(CKA_WRAP, true).set_bool(CKA_UNWRAP, true).set_bool(CKA_ENCRYPT, true).set_bool(CKA_DECRYPT, true);
    auto key = session().generate_key(p11::aes_key_gen(), t);
    EXPECT_TRUE(key) << key.error().message;
    return key ? *key : CK_INVALID_HANDLE;
  }
  static CK_RV rv_of(const Error& error) { return error.ck_rv.value_or(CKR_OK); }

  testing::HierarchyEnv* env_ = nullptr;
  std::optional<p11::SessionPool::Lease> lease_;
  p11::ObjectHandle root_ = 0, kek_ = 0;
};

TEST_F(KeyPolicy, RootAndKekCarryEveryPolicyFlag) {
  for (p11::ObjectHandle key : {root_, kek_}) {
    for (const auto& flag : policy::wrapping_key_flags()) {
      auto value = session().get_attribute(key, flag.type);
      ASSERT_TRUE(value) << value.error().message;
      if (!value->available && keyward::testing::module_under_test() == keyward::testing::ModuleKind::nss &&
          flag.type == CKA_COPYABLE) {
        continue;  // NSS 3.87 does not implement CKA_COPYABLE (a v2.40 attribute)
      }
      ASSERT_TRUE(value->available) << p11::attribute_name(flag.type);
      EXPECT_EQ(value->as_bool(), flag.expected) << p11::attribute_name(flag.type) << ": " << flag.closes;
    }
    auto mechanisms = session().get_attribute(key, CKA_ALLOWED_MECHANISMS);
    ASSERT_TRUE(mechanisms);
    if (mechanisms->available) {
      EXPECT_EQ(mechanisms->as_ulongs(), std::vector<CK_ULONG>{CKM_AES_KEY_WRAP});
    } else {
      EXPECT_EQ(keyward::testing::module_under_test(), keyward::testing::ModuleKind::nss)
          << "SoftHSM implements CKA_ALLOWED_MECHANISMS";
    }
  }
}

TEST_F(KeyPolicy, KeyValuesCannotBeRead) {
  EXPECT_EQ(session().probe_attribute(root_, CKA_VALUE), CKR_ATTRIBUTE_SENSITIVE);
  EXPECT_EQ(session().probe_attribute(kek_, CKA_VALUE), CKR_ATTRIBUTE_SENSITIVE);
}

TEST_F(KeyPolicy, ModuleProfileMatchesWhatWasMeasured) {
  auto profile = env_->hierarchy->module_profile();
  ASSERT_TRUE(profile) << profile.error().message;
  if (keyward::testing::module_under_test() == keyward::testing::ModuleKind::softhsm) {
    EXPECT_TRUE(profile->complete());
  } else {
    // NSS softoken 3.87, measured on this machine.
    EXPECT_FALSE(profile->copyable);
    EXPECT_FALSE(profile->allowed_mechanisms);
    EXPECT_FALSE(profile->unwrap_template);  // stored, not enforced
    EXPECT_FALSE(profile->data_objects);
    EXPECT_FALSE(profile->unextractable_enforced);
    EXPECT_TRUE(profile->modifiable_enforced);
  }
  // Without an explicit acceptance, a module with limits is refused.
  KeyHierarchy strict(env_->pool);
  auto strict_profile = strict.module_profile();
  EXPECT_EQ(strict_profile.has_value(), profile->complete());
}

TEST_F(KeyPolicy, RootAndKekCannotBeWrappedOut) {
  auto profile = env_->hierarchy->module_profile();
  ASSERT_TRUE(profile);
  if (!profile->unextractable_enforced)
    GTEST_SKIP() << "this module (NSS softoken) does not enforce CKA_EXTRACTABLE=false in C_WrapKey";
  p11::ObjectHandle attacker = attacker_key();
  for (auto [wrapping, key] : {std::pair{attacker, root_}, std::pair{attacker, kek_}, std::pair{kek_, root_},
                               std::pair{root_, kek_}}) {
    auto wrapped = session().wrap_key(p11::aes_key_wrap(), wrapping, key);
    ASSERT_FALSE(wrapped) << "a root or KEK left the token: wrapping " << wrapping << " key " << key << " root " << root_ << " kek " << kek_;
    EXPECT_EQ(rv_of(wrapped.error()), CKR_KEY_UNEXTRACTABLE) << wrapped.error().message;
  }
}

TEST_F(KeyPolicy, KekCannotEncryptOrDecrypt) {
  std::vector<std::uint8_t> block(16, 0x42), iv(16, 0);
  for (p11::ObjectHandle key : {kek_, root_}) {
    auto encrypted = session().encrypt(p11::Mechanism{CKM_AES_CBC, iv}, key, block);
    ASSERT_FALSE(encrypted);
    // SoftHSM: CKR_KEY_FUNCTION_NOT_PERMITTED (CKA_ENCRYPT false) or CKR_MECHANISM_INVALID (allowed
    // mechanisms); NSS 3.87 answers CKR_KEY_TYPE_INCONSISTENT for a key without CKA_ENCRYPT.
    EXPECT_TRUE(rv_of(encrypted.error()) == CKR_KEY_FUNCTION_NOT_PERMITTED || rv_of(encrypted.error()) == CKR_MECHANISM_INVALID ||
                rv_of(encrypted.error()) == CKR_KEY_TYPE_INCONSISTENT)
        << encrypted.error().message;
    auto decrypted = session().decrypt(p11::Mechanism{CKM_AES_ECB, {}}, key, block);
    ASSERT_FALSE(decrypted);
    EXPECT_TRUE(rv_of(decrypted.error()) == CKR_KEY_FUNCTION_NOT_PERMITTED || rv_of(decrypted.error()) == CKR_MECHANISM_INVALID ||
                rv_of(decrypted.error()) == CKR_KEY_TYPE_INCONSISTENT)
        << decrypted.error().message;
  }
}

TEST_F(KeyPolicy, KekRefusesOtherWrapMechanisms) {
  if (!env_->hierarchy->module_profile()->allowed_mechanisms)
    GTEST_SKIP() << "module lacks CKA_ALLOWED_MECHANISMS (NSS 3.87 refuses it on token keys)";
  auto dek = session().generate_key(p11::aes_key_gen(), policy::dek_generate_template());
  ASSERT_TRUE(dek);
  auto wrapped = session().wrap_key(p11::Mechanism{CKM_AES_KEY_WRAP_PAD, {}}, kek_, *dek);
  ASSERT_FALSE(wrapped);
  EXPECT_EQ(rv_of(wrapped.error()), CKR_MECHANISM_INVALID) << wrapped.error().message;
  (void)session().destroy_object(*dek);
}

TEST_F(KeyPolicy, UnwrapTemplatesCannotBeLoosened) {
  if (!env_->hierarchy->module_profile()->unwrap_template) GTEST_SKIP() << "module lacks CKA_UNWRAP_TEMPLATE";
  // Material wrapped under the root and under the KEK, by the legitimate paths.
  auto dek = env_->hierarchy->generate_dek(env_->payments.info.ref);
  ASSERT_TRUE(dek);
  const auto& kek_blob = env_->payments.blob.wrapped;

  struct Attempt {
    const char* what;
    p11::ObjectHandle unwrapping;
    const std::vector<std::uint8_t>* blob;
    p11::AttributeTemplate key_template;
  };
  p11::AttributeTemplate extractable_kek = policy::kek_unwrap_template("keyward/test/loose", {}, false);
  extractable_kek.set_bool(CKA_EXTRACTABLE, true).erase(CKA_MODIFIABLE).set_bool(CKA_MODIFIABLE, false);
  p11::AttributeTemplate decrypting_kek = policy::kek_unwrap_template("keyward/test/loose", {}, false);
  decrypting_kek.set_bool(CKA_DECRYPT, true).erase(CKA_MODIFIABLE).set_bool(CKA_MODIFIABLE, false);
  p11::AttributeTemplate token_dek = policy::dek_unwrap_for_cpu_template();
  token_dek.set_bool(CKA_TOKEN, true);
  p11::AttributeTemplate wrapping_dek = policy::dek_unwrap_for_cpu_template();
  wrapping_dek.set_bool(CKA_WRAP, true);
  p11::AttributeTemplate decrypting_dek = policy::dek_unwrap_for_cpu_template();
  decrypting_dek.set_bool(CKA_DECRYPT, true);

  std::vector<Attempt> attempts;
  attempts.push_back({"extractable KEK under the root", root_, &kek_blob, extractable_kek});
  attempts.push_back({"decrypt-capable KEK under the root", root_, &kek_blob, decrypting_kek});
  attempts.push_back({"token DEK under a KEK", kek_, &dek->wrapped, token_dek});
  attempts.push_back({"wrap-capable DEK under a KEK", kek_, &dek->wrapped, wrapping_dek});
  attempts.push_back({"decrypt-capable DEK under a KEK", kek_, &dek->wrapped, decrypting_dek});
  for (auto& attempt : attempts) {
    auto unwrapped = session().unwrap_key(p11::aes_key_wrap(), attempt.unwrapping, *attempt.blob, attempt.key_template);
    ASSERT_FALSE(unwrapped) << attempt.what << " was accepted";
    EXPECT_EQ(rv_of(unwrapped.error()), CKR_TEMPLATE_INCONSISTENT) << attempt.what << ": " << unwrapped.error().message;
  }
}

TEST_F(KeyPolicy, CopyAndModifyAreRefused) {
  for (p11::ObjectHandle key : {root_, kek_}) {
    p11::AttributeTemplate looser;
    looser.set_bool(CKA_EXTRACTABLE, true);
    auto copy = session().copy_object(key, p11::AttributeTemplate().set_bool(CKA_TOKEN, false));
    if (env_->hierarchy->module_profile()->copyable) {
      ASSERT_FALSE(copy) << "C_CopyObject succeeded";
      EXPECT_TRUE(rv_of(copy.error()) == CKR_ACTION_PROHIBITED || rv_of(copy.error()) == CKR_ATTRIBUTE_READ_ONLY ||
                  rv_of(copy.error()) == CKR_FUNCTION_NOT_SUPPORTED)
          << copy.error().message;
    } else if (copy) {
      // NSS 3.87: no CKA_COPYABLE, and C_CopyObject copies a root (the copy keeps its policy flags).
      (void)session().destroy_object(*copy);
    }
    auto modified = session().set_attributes(key, p11::AttributeTemplate().set_bool(CKA_DECRYPT, true));
    ASSERT_FALSE(modified) << "C_SetAttributeValue succeeded";
    EXPECT_TRUE(rv_of(modified.error()) == CKR_ATTRIBUTE_READ_ONLY || rv_of(modified.error()) == CKR_ACTION_PROHIBITED)
        << modified.error().message;
    if (env_->hierarchy->module_profile()->modifiable_enforced) {
      auto relabel = session().set_attributes(key, p11::AttributeTemplate().set_string(CKA_LABEL, "keyward/kek/x/v9"));
      EXPECT_FALSE(relabel) << "a non-modifiable key was relabelled";
    }
  }
}

TEST_F(KeyPolicy, RootIsInvisibleWithoutLogin) {
  if (keyward::testing::module_under_test() == keyward::testing::ModuleKind::nss)
    GTEST_SKIP() << "pkcs11-tool cannot pass NSS softoken its C_Initialize parameters";
  const auto& token = keyward::testing::test_token();
  std::string listing;
  // A separate process that never logs in (login state is per application, so it cannot be ours).
  int status = keyward::testing::run_command("pkcs11-tool --module " + token.module_path + " --token-label '" +
                                                 token.label + "' --list-objects 2>&1",
                                             &listing);
  EXPECT_EQ(status, 0) << listing;
  EXPECT_EQ(listing.find("keyward/root"), std::string::npos) << listing;
  EXPECT_EQ(listing.find("keyward/kek"), std::string::npos) << listing;
}

}  // namespace
}  // namespace keyward::hierarchy
