// The cross-process lock around module state: it excludes other processes and other descriptors of
// this one, gives up with a clear error, and refuses a lock directory others could tamper with.
#include "pkcs11/module_state_lock.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace keyward::p11 {
namespace {

using namespace std::chrono_literals;

class ModuleStateLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(KEYWARD_TEST_TMP);
    std::string pattern = std::string(KEYWARD_TEST_TMP) + "/lockdir.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    ::setenv("KEYWARD_LOCK_DIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("KEYWARD_LOCK_DIR");
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(ModuleStateLockTest, SecondHolderWaitsThenGivesUpNamingTheLock) {
  auto first = ModuleStateLock::acquire("/usr/lib/softhsm/libsofthsm2.so");
  ASSERT_TRUE(first) << first.error().message;
  auto second = ModuleStateLock::acquire("/usr/lib/softhsm/libsofthsm2.so", 50ms);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().category, ErrorCategory::token);
  EXPECT_NE(second.error().message.find(dir_), std::string::npos) << second.error().message;
  first->release();
  EXPECT_TRUE(ModuleStateLock::acquire("/usr/lib/softhsm/libsofthsm2.so", 50ms));
}

TEST_F(ModuleStateLockTest, DifferentModulesDoNotExcludeEachOther) {
  auto softhsm = ModuleStateLock::acquire("/usr/lib/softhsm/libsofthsm2.so");
  ASSERT_TRUE(softhsm);
  EXPECT_TRUE(ModuleStateLock::acquire("/usr/lib/x86_64-linux-gnu/libsoftokn3.so", 50ms));
  EXPECT_NE(*ModuleStateLock::path_for("/usr/lib/softhsm/libsofthsm2.so"),
            *ModuleStateLock::path_for("/usr/lib/x86_64-linux-gnu/libsoftokn3.so"));
}

TEST_F(ModuleStateLockTest, NamedLocksExcludeBySameNameOnly) {
  auto first = ModuleStateLock::acquire_named("version-abc-kek.payments", "creating the next version");
  ASSERT_TRUE(first) << first.error().message;
  auto second = ModuleStateLock::acquire_named("version-abc-kek.payments", "creating the next version", 50ms);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().category, ErrorCategory::token);
  EXPECT_NE(second.error().message.find("creating the next version"), std::string::npos) << second.error().message;
  EXPECT_TRUE(ModuleStateLock::acquire_named("version-abc-kek.other", "another family", 50ms));
  EXPECT_TRUE(ModuleStateLock::acquire("/usr/lib/softhsm/libsofthsm2.so", 50ms)) << "never the module lock";
  for (const char* bad : {"", "../escape", "a/b", ".hidden", "sp ace"})
    EXPECT_FALSE(ModuleStateLock::acquire_named(bad, "test", 50ms)) << "'" << bad << "'";
}

TEST_F(ModuleStateLockTest, ExcludesAnotherProcessUntilItLetsGo) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto held = ModuleStateLock::acquire("/usr/lib/softhsm/libsofthsm2.so");
    const char byte = held ? 'y' : 'n';
    (void)!::write(ready[1], &byte, 1);
    ::usleep(400'000);
    ::_exit(held ? 0 : 1);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, 'y');
  EXPECT_FALSE(ModuleStateLock::acquire("/usr/lib/softhsm/libsofthsm2.so", 50ms)) << "the child holds it";
  const auto start = std::chrono::steady_clock::now();
  auto mine = ModuleStateLock::acquire("/usr/lib/softhsm/libsofthsm2.so", 10s);
  EXPECT_TRUE(mine) << mine.error().message;
  EXPECT_GT(std::chrono::steady_clock::now() - start, 100ms) << "it waited for the child";
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_F(ModuleStateLockTest, RefusesALockDirectoryOthersCanWrite) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  auto lock = ModuleStateLock::acquire("/usr/lib/softhsm/libsofthsm2.so", 50ms);
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().category, ErrorCategory::io);
  EXPECT_NE(lock.error().message.find("KEYWARD_LOCK_DIR"), std::string::npos) << lock.error().message;
}

TEST_F(ModuleStateLockTest, RefusesASymlinkedLockFile) {
  auto path = ModuleStateLock::path_for("/usr/lib/softhsm/libsofthsm2.so");
  ASSERT_TRUE(path);
  ASSERT_EQ(::symlink("/etc/passwd", path->c_str()), 0);
  auto lock = ModuleStateLock::acquire("/usr/lib/softhsm/libsofthsm2.so", 50ms);
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().category, ErrorCategory::io);
}

}  // namespace
}  // namespace keyward::p11
