// recombine_root_shares and import_recovered_root: a backed-up root recovered onto a second fresh
// token with the same KCV; too few shares, a wrong expected KCV or shares of two sets create nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "ceremony/root_recovery.h"
#include "ceremony/root_setup.h"
#include "tests/support/test_token.h"

namespace keyward::ceremony {
namespace {

std::unique_ptr<hierarchy::KeyHierarchy> fresh_hierarchy(const std::string& label) {
  auto token = keyward::testing::make_another_token(label);
  auto connection = p11::Connection::open(token.parsed_uri());
  EXPECT_TRUE(connection) << connection.error().message;
  if (!connection) return nullptr;
  return std::make_unique<hierarchy::KeyHierarchy>(std::make_shared<p11::SessionPool>(*connection));
}

// One backed-up 2-of-3 root per test process, on its own token, and its share files.
struct BackedUpRoot {
  std::unique_ptr<hierarchy::KeyHierarchy> origin;
  RootSetup setup;
};

const BackedUpRoot* backed_up_root() {
  static std::unique_ptr<BackedUpRoot> made = []() -> std::unique_ptr<BackedUpRoot> {
    auto origin = fresh_hierarchy("keyward-recover-origin");
    if (!origin) return nullptr;
    const std::string dir = keyward::testing::scratch_dir("recovery-shares");
    auto setup = set_up_root(*origin, {.new_version = false, .backup = RootBackupPlan{3, 2, dir, ""}});
    if (!setup) {
      ADD_FAILURE() << setup.error().message;
      return nullptr;
    }
    return std::make_unique<BackedUpRoot>(BackedUpRoot{std::move(origin), std::move(*setup)});
  }();
  return made.get();
}

TEST(RootRecovery, TwoOfThreeRecreateTheRootOnAFreshToken) {
  if (!keyward::testing::can_make_more_tokens()) GTEST_SKIP() << "NSS softoken has one database token per directory";
  const auto* origin = backed_up_root();
  ASSERT_NE(origin, nullptr);
  const auto& files = origin->setup.share_files;
  auto recombined = recombine_root_shares({files[2], files[0]}, "", origin->setup.root.kcv.kw_fingerprint);
  ASSERT_TRUE(recombined) << recombined.error().message;
  EXPECT_EQ(recombined->metadata.root_kcv, origin->setup.root.kcv.kw_fingerprint);
  EXPECT_EQ(recombined->shares_used, 2u);

  auto target = fresh_hierarchy("keyward-recover-target");
  ASSERT_TRUE(target);
  auto root = import_recovered_root(*target, *recombined);
  ASSERT_TRUE(root) << root.error().message;
  EXPECT_TRUE(recombined->material.empty()) << "the root material is wiped once imported";
  EXPECT_EQ(root->label, "keyward/root/v1");
  EXPECT_EQ(root->kcv.kw_fingerprint, origin->setup.root.kcv.kw_fingerprint);
  EXPECT_TRUE(recovered_kcv_matches(*root, recombined->metadata));
  const auto record = recovery_record(*root, *recombined);
  EXPECT_EQ(record["kcv_matches"], true);
  EXPECT_EQ(record["shares_used"], 2);
  EXPECT_EQ(record["share_set_id"], origin->setup.share_set_id);
}

TEST(RootRecovery, RefusesTooFewShares) {
  if (!keyward::testing::can_make_more_tokens()) GTEST_SKIP() << "NSS softoken has one database token per directory";
  const auto* origin = backed_up_root();
  ASSERT_NE(origin, nullptr);
  auto recombined = recombine_root_shares({origin->setup.share_files[1]}, "", "");
  ASSERT_FALSE(recombined);
  EXPECT_EQ(recombined.error().category, ErrorCategory::usage);
  EXPECT_NE(recombined.error().message.find("needs 2 of 3"), std::string::npos) << recombined.error().message;
}

TEST(RootRecovery, RefusesAnotherExpectedKcv) {
  if (!keyward::testing::can_make_more_tokens()) GTEST_SKIP() << "NSS softoken has one database token per directory";
  const auto* origin = backed_up_root();
  ASSERT_NE(origin, nullptr);
  auto recombined = recombine_root_shares({origin->setup.share_files[0], origin->setup.share_files[1]}, "",
                                          "0000000000000000");
  ASSERT_FALSE(recombined);
  EXPECT_EQ(recombined.error().category, ErrorCategory::authentication);
  EXPECT_NE(recombined.error().message.find("nothing created"), std::string::npos);
}

TEST(RootRecovery, RefusesSharesOfTwoSets) {
  if (!keyward::testing::can_make_more_tokens()) GTEST_SKIP() << "NSS softoken has one database token per directory";
  const auto* origin = backed_up_root();
  ASSERT_NE(origin, nullptr);
  auto other = fresh_hierarchy("keyward-recover-other");
  ASSERT_TRUE(other);
  const std::string dir = keyward::testing::scratch_dir("recovery-other-shares");
  auto other_setup = set_up_root(*other, {.new_version = false, .backup = RootBackupPlan{3, 2, dir, ""}});
  ASSERT_TRUE(other_setup) << other_setup.error().message;
  auto recombined = recombine_root_shares({origin->setup.share_files[0], other_setup->share_files[1]}, "", "");
  ASSERT_FALSE(recombined);
}

TEST(RootRecovery, SealedSharesWithoutAPassphraseSourceAreAUsageError) {
  if (!keyward::testing::can_make_more_tokens()) GTEST_SKIP() << "NSS softoken has one database token per directory";
  auto origin = fresh_hierarchy("keyward-recover-sealed");
  ASSERT_TRUE(origin);
  const std::string dir = keyward::testing::scratch_dir("recovery-sealed-shares");
  const std::string passphrase = keyward::testing::write_private_file(dir + "/passphrase", "correct horse battery\n");
  auto setup = set_up_root(*origin, {.new_version = false, .backup = RootBackupPlan{2, 2, dir, "file:" + passphrase}});
  ASSERT_TRUE(setup) << setup.error().message;
  auto refused = recombine_root_shares(setup->share_files, "", "");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().category, ErrorCategory::usage);
  auto recombined = recombine_root_shares(setup->share_files, "file:" + passphrase, setup->root.kcv.kw_fingerprint);
  ASSERT_TRUE(recombined) << recombined.error().message;
}

}  // namespace
}  // namespace keyward::ceremony
