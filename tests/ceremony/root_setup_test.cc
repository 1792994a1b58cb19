// set_up_root on fresh tokens: a generated root, a backed-up root and its share files, and the
// rollback when the backup cannot be written (no root, no share files left behind).
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "ceremony/root_setup.h"
#include "tests/support/test_token.h"

namespace keyward::ceremony {
namespace {

namespace fs = std::filesystem;

// A hierarchy on a second, fresh token of the test module (SoftHSM only).
struct FreshHierarchy {
  std::unique_ptr<hierarchy::KeyHierarchy> hierarchy;
};

FreshHierarchy fresh_hierarchy(const std::string& label) {
  auto token = keyward::testing::make_another_token(label);
  auto connection = p11::Connection::open(token.parsed_uri());
  EXPECT_TRUE(connection) << connection.error().message;
  if (!connection) return {};
  return {std::make_unique<hierarchy::KeyHierarchy>(std::make_shared<p11::SessionPool>(*connection))};
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(RootSetup, GeneratedRootHasNoBackupAndASecondNeedsNewVersion) {
  if (!keyward::testing::can_make_more_tokens()) GTEST_SKIP() << "NSS softoken has one database token per directory";
  auto fresh = fresh_hierarchy("keyward-setup-gen");
  ASSERT_TRUE(fresh.hierarchy);
  auto setup = set_up_root(*fresh.hierarchy, {});
  ASSERT_TRUE(setup) << setup.error().message;
  EXPECT_EQ(setup->root.version, 1u);
  EXPECT_TRUE(setup->root.generated_in_token);
  EXPECT_TRUE(setup->share_files.empty());
  const auto record = root_setup_record(*setup);
  EXPECT_EQ(record["label"], "keyward/root/v1");
  EXPECT_FALSE(record.contains("share_files"));

  auto second = set_up_root(*fresh.hierarchy, {});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().category, ErrorCategory::usage);
  auto next = set_up_root(*fresh.hierarchy, {.new_version = true, .backup = std::nullopt});
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->root.version, 2u);
}

TEST(RootSetup, BackedUpRootWritesEveryShareFilePrivately) {
  if (!keyward::testing::can_make_more_tokens()) GTEST_SKIP() << "NSS softoken has one database token per directory";
  auto fresh = fresh_hierarchy("keyward-setup-backup");
  ASSERT_TRUE(fresh.hierarchy);
  const std::string dir = keyward::testing::scratch_dir("root-setup-backup");
  auto setup = set_up_root(*fresh.hierarchy, {.new_version = false, .backup = RootBackupPlan{3, 2, dir, ""}});
  ASSERT_TRUE(setup) << setup.error().message;
  EXPECT_FALSE(setup->root.generated_in_token);
  ASSERT_EQ(setup->share_files.size(), 3u);
  for (unsigned i = 1; i <= 3; ++i) {
    const std::string path = share_file_path(dir, 1, i, 3);
    EXPECT_EQ(setup->share_files[i - 1], path);
    struct stat info {};
    ASSERT_EQ(::stat(path.c_str(), &info), 0) << path;
    EXPECT_EQ(info.st_mode & 0777, 0600u) << path;
  }
  const auto record = root_setup_record(*setup);
  EXPECT_EQ(record["kind"], "imported from token RNG material, backed up 2-of-3");
  EXPECT_EQ(record["share_set_id"], setup->share_set_id);
  EXPECT_EQ(record["passphrase_sealed"], false);
  auto roots = fresh.hierarchy->roots();
  ASSERT_TRUE(roots);
  ASSERT_EQ(roots->size(), 1u);
  EXPECT_EQ(roots->front().kcv.kw_fingerprint, setup->root.kcv.kw_fingerprint);
}

TEST(RootSetup, ABackupThatCannotBeWrittenLeavesNoRootAndNoShares) {
  if (!keyward::testing::can_make_more_tokens()) GTEST_SKIP() << "NSS softoken has one database token per directory";
  auto fresh = fresh_hierarchy("keyward-setup-rollback");
  ASSERT_TRUE(fresh.hierarchy);
  const std::string dir = keyward::testing::scratch_dir("root-setup-rollback");
  // Share 1 can be written, share 2 cannot: its name is taken (share files are never overwritten).
  const std::string taken = share_file_path(dir, 1, 2, 3);
  std::ofstream(taken) << "not a share\n";

  auto setup = set_up_root(*fresh.hierarchy, {.new_version = false, .backup = RootBackupPlan{3, 2, dir, ""}});
  ASSERT_FALSE(setup);
  auto roots = fresh.hierarchy->roots();
  ASSERT_TRUE(roots) << roots.error().message;
  EXPECT_TRUE(roots->empty()) << "a root without its complete share set";
  EXPECT_EQ(files_in(dir), std::vector<std::string>{"root-v1-share-2-of-3.json"}) << "share 1 must be removed again";
  std::ifstream in(taken);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "not a share") << "the file in the way is left as it was";

  // Nothing half-done: with the way clear, the same request succeeds as version 1.
  fs::remove(taken);
  auto retried = set_up_root(*fresh.hierarchy, {.new_version = false, .backup = RootBackupPlan{3, 2, dir, ""}});
  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_EQ(retried->root.version, 1u);
}

TEST(RootSetup, AnUnreadablePassphraseSourceWritesNothing) {
  if (!keyward::testing::can_make_more_tokens()) GTEST_SKIP() << "NSS softoken has one database token per directory";
  auto fresh = fresh_hierarchy("keyward-setup-nopass");
  ASSERT_TRUE(fresh.hierarchy);
  const std::string dir = keyward::testing::scratch_dir("root-setup-nopass");
  auto setup = set_up_root(*fresh.hierarchy,
                           {.new_version = false, .backup = RootBackupPlan{3, 2, dir, "file:" + dir + "/no-such-file"}});
  ASSERT_FALSE(setup);
  EXPECT_TRUE(files_in(dir).empty());
  auto roots = fresh.hierarchy->roots();
  ASSERT_TRUE(roots);
  EXPECT_TRUE(roots->empty());
}

}  // namespace
}  // namespace keyward::ceremony
