// The recovery drill through the library: a 3-of-5 backed-up root recovered on a second token,
// a KEK moved by its blob, and a DEK wrapped on the first token unwrapped on the second.
#include <openssl/rand.h>

#include <gtest/gtest.h>

#include "ceremony/backup_share.h"
#include "ceremony/offline_kcv.h"
#include "tests/support/hierarchy_fixture.h"

namespace keyward::ceremony {
namespace {

TEST(RecoveryDrill, ThreeOfFiveOntoASecondToken) {
  if (!keyward::testing::can_make_more_tokens()) GTEST_SKIP() << "NSS softoken has one database token per directory";
  auto* env = hierarchy::testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  // Backed-up root v2 on the first token.
  auto version = env->hierarchy->next_root_version(true);
  ASSERT_TRUE(version);
  auto material = env->hierarchy->root_material_from_token_rng();
  ASSERT_TRUE(material);
  auto kcv = kw_fingerprint_of(*material);
  ASSERT_TRUE(kcv);
  RandomSource rng = [](std::span<std::uint8_t> out) -> Status {
    RAND_bytes(out.data(), static_cast<int>(out.size()));
    return {};
  };
  auto shares = split_secret(*material, 3, 5, rng);
  ASSERT_TRUE(shares);
  auto root = env->hierarchy->import_root(*material, *version);
  ASSERT_TRUE(root) << root.error().message;
  EXPECT_EQ(root->kcv.kw_fingerprint, *kcv);
  material->wipe();
  auto kek = env->hierarchy->create_kek("drill");
  ASSERT_TRUE(kek) << kek.error().message;
  EXPECT_EQ(kek->blob.root_version, *version);
  auto dek = env->hierarchy->generate_dek(kek->info.ref);
  ASSERT_TRUE(dek);

  // The second token, fresh.
  auto second_token = keyward::testing::make_another_token("keyward-drill");
  auto connection = p11::Connection::open(second_token.parsed_uri());
  ASSERT_TRUE(connection) << connection.error().message;
  hierarchy::KeyHierarchy second(std::make_shared<p11::SessionPool>(*connection));
  auto recovered_material = combine_shares({&(*shares)[4], &(*shares)[0], &(*shares)[2]});
  ASSERT_TRUE(recovered_material);
  auto recovered = second.import_root(*recovered_material, *version);
  ASSERT_TRUE(recovered) << recovered.error().message;
  EXPECT_EQ(recovered->kcv.kw_fingerprint, root->kcv.kw_fingerprint);

  auto imported = second.import_kek(kek->blob);
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ(imported->kcv.kw_fingerprint, kek->info.kcv.kw_fingerprint);
  auto unwrapped = second.unwrap_dek_for_cpu(kek->info.ref, dek->wrapped);
  ASSERT_TRUE(unwrapped) << unwrapped.error().message;
  EXPECT_TRUE(unwrapped->equals(dek->plaintext));

  // Two shares recombine to a different key, whose KCV gives it away before any import.
  auto wrong = combine_shares({&(*shares)[0], &(*shares)[1]});
  ASSERT_TRUE(wrong);
  auto wrong_kcv = kw_fingerprint_of(*wrong);
  ASSERT_TRUE(wrong_kcv);
  EXPECT_NE(*wrong_kcv, *kcv);
}

}  // namespace
}  // namespace keyward::ceremony
