// AES keys generated in the token and wrapped/unwrapped with CKM_AES_KEY_WRAP (RFC 3394).
#include <openssl/evp.h>

#include <gtest/gtest.h>

#include "pkcs11/connection.h"
#include "pkcs11/key_handle_cache.h"
#include "tests/support/test_token.h"

namespace keyward::p11 {
namespace {

std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

AttributeTemplate session_aes_key(bool extractable, bool sensitive) {
  AttributeTemplate t;
  t.set_ulong(CKA_CLASS, CKO_SECRET_KEY)
      .set_ulong(CKA_KEY_TYPE, CKK_AES)
      .set_ulong(CKA_VALUE_LEN, 32)
      .set_bool(CKA_TOKEN, false)
      .set_bool(CKA_PRIVATE, true)
      .set_bool(CKA_SENSITIVE, sensitive)
      .set_bool(CKA_EXTRACTABLE, extractable)
      .set_bool(CKA_WRAP, true)
      .set_bool(CKA_UNWRAP, true)
      .set_bool(CKA_ENCRYPT, false)
      .set_bool(CKA_DECRYPT, false);
  return t;
}

AttributeTemplate imported_aes_key(const SecretBytes& value, bool extractable) {
  AttributeTemplate t = session_aes_key(extractable, !extractable);
  t.erase(CKA_VALUE_LEN).set_secret(CKA_VALUE, value);
  return t;
}

class KeyWrap : public ::testing::Test {
 protected:
  void SetUp() override {
    connection_ = keyward::testing::connect_test_token();
    ASSERT_TRUE(connection_);
    auto session = connection_->open_session();
    ASSERT_TRUE(session) << session.error().message;
    session_.emplace(std::move(*session));
  }
  std::shared_ptr<Connection> connection_;
  std::optional<Session> session_;
};

TEST_F(KeyWrap, GeneratedKeyWrapsAndUnwrapsToTheSameValue) {
  auto kek = session_->generate_key(aes_key_gen(), session_aes_key(false, true));
  ASSERT_TRUE(kek) << kek.error().message;
  auto dek = session_->generate_key(aes_key_gen(), session_aes_key(true, false));
  ASSERT_TRUE(dek) << dek.error().message;
  auto wrapped = session_->wrap_key(aes_key_wrap(), *kek, *dek);
  ASSERT_TRUE(wrapped) << wrapped.error().message;
  EXPECT_EQ(wrapped->size(), 40u);  // RFC 3394: n+1 64-bit blocks for an n-block key

  AttributeTemplate unwrap_template = session_aes_key(true, false);
  unwrap_template.erase(CKA_VALUE_LEN);
  auto unwrapped = session_->unwrap_key(aes_key_wrap(), *kek, *wrapped, unwrap_template);
  ASSERT_TRUE(unwrapped) << unwrapped.error().message;
  auto original = session_->extract_key_value(*dek);
  auto recovered = session_->extract_key_value(*unwrapped);
  ASSERT_TRUE(original && recovered);
  EXPECT_EQ(original->size(), 32u);
  EXPECT_TRUE(original->equals(*recovered));
}

TEST_F(KeyWrap, MatchesRfc3394KnownAnswer) {
  // RFC 3394 §4.6: wrap 256 bits of key data with a 256-bit KEK.
  auto kek_value = SecretBytes::copy_of(from_hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"));
  auto key_value = SecretBytes::copy_of(from_hex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F"));
  auto kek = session_->create_object(imported_aes_key(kek_value, false));
  ASSERT_TRUE(kek) << kek.error().message;
  auto key = session_->create_object(imported_aes_key(key_value, true));
  ASSERT_TRUE(key) << key.error().message;
  auto wrapped = session_->wrap_key(aes_key_wrap(), *kek, *key);
  ASSERT_TRUE(wrapped) << wrapped.error().message;
  EXPECT_EQ(*wrapped, from_hex("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"));
}

TEST_F(KeyWrap, TamperedBlobFailsItsIntegrityCheck) {
  auto kek = session_->generate_key(aes_key_gen(), session_aes_key(false, true));
  auto dek = session_->generate_key(aes_key_gen(), session_aes_key(true, false));
  ASSERT_TRUE(kek && dek);
  auto wrapped = session_->wrap_key(aes_key_wrap(), *kek, *dek);
  ASSERT_TRUE(wrapped);
  (*wrapped)[17] ^= 0x01;
  AttributeTemplate unwrap_template = session_aes_key(true, false);
  unwrap_template.erase(CKA_VALUE_LEN);
  auto unwrapped = session_->unwrap_key(aes_key_wrap(), *kek, *wrapped, unwrap_template);
  ASSERT_FALSE(unwrapped);
  ASSERT_TRUE(unwrapped.error().ck_rv);
  // NSS reports the RFC 3394 §2.2.3 integrity failure as CKR_WRAPPED_KEY_INVALID; SoftHSM 2.6.1
  // reports it as CKR_GENERAL_ERROR (measured), so the two are told apart only by module.
  if (keyward::testing::module_under_test() == keyward::testing::ModuleKind::softhsm) {
    EXPECT_EQ(*unwrapped.error().ck_rv, CKR_GENERAL_ERROR) << unwrapped.error().message;
  } else {
    EXPECT_EQ(unwrapped.error().category, ErrorCategory::authentication) << unwrapped.error().message;
  }
}

TEST_F(KeyWrap, SensitiveKeyValueCannotBeRead) {
  auto kek = session_->generate_key(aes_key_gen(), session_aes_key(false, true));
  ASSERT_TRUE(kek);
  EXPECT_EQ(session_->probe_attribute(*kek, CKA_VALUE), CKR_ATTRIBUTE_SENSITIVE);
  EXPECT_FALSE(session_->extract_key_value(*kek));
}

// Mechanism 0x210A differs between modules: SoftHSM implements RFC 5649; NSS implements RFC 3394
// with PKCS#7 padding. keyward therefore never uses it; this test records the difference.
TEST_F(KeyWrap, AesKeyWrapPadDiffersBetweenModules) {
  // Compare the module's 0x210A output for a 32-byte key with OpenSSL's RFC 5649 (AES-256-WRAP-PAD).
  auto key_value = SecretBytes::copy_of(from_hex("c37b7e6492584340bed12207808941155068f738c37b7e6492584340bed12207"));
  auto kek256 = SecretBytes::copy_of(from_hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"));
  auto kek = session_->create_object(imported_aes_key(kek256, false));
  auto key = session_->create_object(imported_aes_key(key_value, true));
  ASSERT_TRUE(kek && key);
  auto wrapped = session_->wrap_key(Mechanism{CKM_AES_KEY_WRAP_PAD, {}}, *kek, *key);
  if (!wrapped) GTEST_SKIP() << "module lacks CKM_AES_KEY_WRAP_PAD: " << wrapped.error().message;

  std::vector<std::uint8_t> rfc5649(48);
  int out_len = 0, final_len = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  ASSERT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_256_wrap_pad(), nullptr, kek256.reveal().data(), nullptr), 1);
  ASSERT_EQ(EVP_EncryptUpdate(ctx, rfc5649.data(), &out_len, key_value.reveal().data(), 32), 1);
  ASSERT_EQ(EVP_EncryptFinal_ex(ctx, rfc5649.data() + out_len, &final_len), 1);
  EVP_CIPHER_CTX_free(ctx);
  rfc5649.resize(static_cast<std::size_t>(out_len + final_len));

  if (keyward::testing::module_under_test() == keyward::testing::ModuleKind::softhsm) {
    EXPECT_EQ(*wrapped, rfc5649) << "SoftHSM's 0x210A is RFC 5649";
  } else {
    EXPECT_NE(*wrapped, rfc5649) << "NSS's 0x210A is RFC 3394 + PKCS#7 padding, not RFC 5649";
  }
}

TEST_F(KeyWrap, HandleCacheAvoidsRepeatedFinds) {
  AttributeTemplate t = session_aes_key(false, true);
  t.set_bool(CKA_TOKEN, false).set_string(CKA_LABEL, "keyward/test/handle-cache");
  auto key = session_->generate_key(aes_key_gen(), t);
  ASSERT_TRUE(key);
  KeyHandleCache cache;
  for (int i = 0; i < 5; ++i) {
    auto found = cache.find(*session_, "keyward/test/handle-cache");
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(*found, *key);
  }
  EXPECT_EQ(cache.lookups(), 1u);
  auto missing = cache.find(*session_, "keyward/test/no-such-key");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().category, ErrorCategory::not_found);
}

}  // namespace
}  // namespace keyward::p11
