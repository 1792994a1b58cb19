// DEKs: generated in the token, unwrapped for the CPU, rewrapped in the token under a new KEK version.
#include <openssl/evp.h>

#include <gtest/gtest.h>

#include "hierarchy/labels.h"
#include "hierarchy/policy.h"
#include "pkcs11/key_handle_cache.h"
#include "tests/support/hierarchy_fixture.h"

namespace keyward::hierarchy {
namespace {

using testing::hierarchy_env;

TEST(DekWrapping, GenerateThenUnwrapForCpuGivesTheSameKey) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto dek = env->hierarchy->generate_dek(env->payments.info.ref);
  ASSERT_TRUE(dek) << dek.error().message;
  EXPECT_EQ(dek->wrapped.size(), 40u);
  EXPECT_EQ(dek->plaintext.size(), 32u);
  auto unwrapped = env->hierarchy->unwrap_dek_for_cpu(env->payments.info.ref, dek->wrapped);
  ASSERT_TRUE(unwrapped) << unwrapped.error().message;
  EXPECT_TRUE(unwrapped->equals(dek->plaintext));
}

TEST(DekWrapping, RewrapInTokenMovesTheDekToTheNewVersion) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto v2 = env->hierarchy->create_kek("rewrap-test");
  auto v3 = env->hierarchy->create_kek("rewrap-test");
  ASSERT_TRUE(v2 && v3);
  EXPECT_EQ(v3->info.ref.version, v2->info.ref.version + 1);
  auto dek = env->hierarchy->generate_dek(v2->info.ref);
  ASSERT_TRUE(dek);
  auto rewrapped = env->hierarchy->rewrap_dek_in_token(v2->info.ref, v3->info.ref, dek->wrapped);
  ASSERT_TRUE(rewrapped) << rewrapped.error().message;
  EXPECT_NE(*rewrapped, dek->wrapped);
  auto under_new = env->hierarchy->unwrap_dek_for_cpu(v3->info.ref, *rewrapped);
  ASSERT_TRUE(under_new) << under_new.error().message;
  EXPECT_TRUE(under_new->equals(dek->plaintext));
  // The old blob does not open under the new KEK.
  EXPECT_FALSE(env->hierarchy->unwrap_dek_for_cpu(v3->info.ref, dek->wrapped));
}

TEST(DekWrapping, BatchRewrapWithSessionKekCopiesKeepsEveryKey) {
  // What a rotation worker does: one pooled session, session copies of the KEKs from their blobs,
  // DEKs under two older versions in one batch. On a module without data objects (NSS) the copies
  // are not possible and the token KEKs are used; the result must be the same.
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto v1 = env->hierarchy->create_kek("batch-test");
  auto v2 = env->hierarchy->create_kek("batch-test");
  auto v3 = env->hierarchy->create_kek("batch-test");
  ASSERT_TRUE(v1 && v2 && v3);
  std::vector<NewDek> deks;
  std::vector<std::uint32_t> versions;
  for (int i = 0; i < 6; ++i) {
    const auto& ref = i % 2 ? v1->info.ref : v2->info.ref;
    auto dek = env->hierarchy->generate_dek(ref);
    ASSERT_TRUE(dek) << dek.error().message;
    deks.push_back(std::move(*dek));
    versions.push_back(ref.version);
  }
  auto single = std::make_shared<p11::SessionPool>(env->pool->connection(), p11::SessionPoolOptions{.max_sessions = 1});
  KeyHierarchy worker(single, HierarchyOptions{.accept_module_limits = true, .session_kek_copies_for_rewrap = true});
  std::vector<KeyHierarchy::WrappedUnder> inputs;
  for (std::size_t i = 0; i < deks.size(); ++i) inputs.push_back({versions[i], deks[i].wrapped});
  auto rewrapped = worker.rewrap_deks_in_token(inputs, v3->info.ref);
  ASSERT_TRUE(rewrapped) << rewrapped.error().message;
  ASSERT_EQ(rewrapped->size(), deks.size());
  for (std::size_t i = 0; i < deks.size(); ++i) {
    auto back = env->hierarchy->unwrap_dek_for_cpu(v3->info.ref, (*rewrapped)[i]);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_TRUE(back->equals(deks[i].plaintext)) << i;
  }
  if (v3->info.blob_on_token) {  // the copies exist, as session objects with their own labels
    auto copies = single->run([&](p11::Session& session) -> Result<bool> {
      KW_ASSIGN_OR_RETURN(auto copy, p11::find_unique_object(session, session_kek_label("batch-test", v3->info.ref.version), CKO_SECRET_KEY));
      KW_ASSIGN_OR_RETURN(auto token, session.get_attribute(copy, CKA_TOKEN));
      return !token.as_bool();
    });
    ASSERT_TRUE(copies) << copies.error().message;
    EXPECT_TRUE(*copies) << "a session object, never a token object";
  }
  // One altered blob fails the whole batch; nothing is returned for the others.
  auto altered = deks[3].wrapped;
  altered[5] ^= 1;
  inputs[3].wrapped = altered;
  EXPECT_FALSE(worker.rewrap_deks_in_token(inputs, v3->info.ref));
}

TEST(DekWrapping, UnknownKekIsNotFound) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto dek = env->hierarchy->generate_dek(KekRef{"no-such-family", 1});
  ASSERT_FALSE(dek);
  EXPECT_EQ(dek.error().category, ErrorCategory::not_found);
}

TEST(KeyCheckValues, ReproducibleWithOpenSslFromTheKeyBytes) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  // A root imported from known material (as recovery does), so the fingerprint can be recomputed
  // on the CPU: RFC 3394 wrap (OpenSSL id-aes256-wrap, default IV) of the canary, first 8 bytes.
  auto material = env->hierarchy->root_material_from_token_rng();
  ASSERT_TRUE(material);
  auto imported = env->hierarchy->import_root(*material, 0, true);
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_FALSE(imported->generated_in_token);
  if (keyward::testing::module_under_test() == keyward::testing::ModuleKind::softhsm) {
    EXPECT_TRUE(env->root.generated_in_token);  // NSS 3.87 reports CKA_LOCAL false even for generated keys
  }

  std::vector<std::uint8_t> out(48);
  int len = 0, final_len = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  ASSERT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_256_wrap(), nullptr, material->reveal().data(), nullptr), 1);
  ASSERT_EQ(EVP_EncryptUpdate(ctx, out.data(), &len, policy::kcv_canary().data(), 32), 1);
  ASSERT_EQ(EVP_EncryptFinal_ex(ctx, out.data() + len, &final_len), 1);
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_EQ(imported->kcv.kw_fingerprint, to_hex(std::span(out).first(8)));
}

TEST(KekBlobs, ExportedBlobImportsOnlyUnderItsRoot) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  if (!env->payments.info.blob_on_token) {
    EXPECT_EQ(keyward::testing::module_under_test(), keyward::testing::ModuleKind::nss);
    GTEST_SKIP() << "NSS softoken cannot store CKO_DATA objects: KEK blobs live only in the ceremony's files";
  }
  auto blob = env->hierarchy->export_kek(env->payments.info.ref);
  ASSERT_TRUE(blob) << blob.error().message;
  EXPECT_EQ(blob->wrapped, env->payments.blob.wrapped);
  auto parsed = KekBlob::from_json(blob->to_json());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->kek_kcv, env->payments.info.kcv.kw_fingerprint);
  // Importing over an existing KEK is refused.
  auto again = env->hierarchy->import_kek(*blob);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().category, ErrorCategory::usage);
  // A blob that claims another root's fingerprint is refused before anything is unwrapped.
  KekBlob foreign = *blob;
  foreign.kek_version = 77;
  foreign.root_kcv = "0000000000000000";
  auto refused = env->hierarchy->import_kek(foreign);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().category, ErrorCategory::policy);
}

}  // namespace
}  // namespace keyward::hierarchy
