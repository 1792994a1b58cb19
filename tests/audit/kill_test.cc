// Four processes log to one file; SIGKILL lands at random moments. The log must still verify, with
// at most one partial line per kill, and every checkpoint a process saw completed must be in it.
//
// The children are this test binary run with --gtest_filter=AuditKillChild.* and the log's path in
// the environment. The number of kills is small and fixed here (KEYWARD_AUDIT_KILLS, default 6);
// `make audit-kill` runs many more.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "audit/record.h"
#include "audit/verify.h"
#include "tests/audit/audit_test_support.h"

extern char** environ;

namespace keyward::audit {
namespace {

constexpr const char* kLogVariable = "KEYWARD_AUDIT_KILL_LOG";
constexpr const char* kUriVariable = "KEYWARD_AUDIT_KILL_URI";

// One child: logs until killed; after each checkpoint the token acknowledged, appends "pid seq" to
// the side file (one write(2), so a kill cannot tear it) — the promise the parent checks.
TEST(AuditKillChild, LogsUntilKilled) {
  const char* path = std::getenv(kLogVariable);
  const char* uri_text = std::getenv(kUriVariable);
  if (path == nullptr || uri_text == nullptr) GTEST_SKIP() << "run by AuditKill only";
  auto uri = p11::TokenUri::parse(uri_text);
  ASSERT_TRUE(uri) << uri.error().message;
  auto connection = p11::Connection::open(*uri);
  ASSERT_TRUE(connection) << connection.error().message;
  auto anchor = TokenAnchor::open(*connection, true);
  ASSERT_TRUE(anchor) << anchor.error().message;
  auto log = AuditLog::open(path, *anchor, testing::manual_options(4));
  ASSERT_TRUE(log) << log.error().message;
  const std::string side = std::string(path) + ".acknowledged";
  const int side_fd = ::open(side.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  ASSERT_GE(side_fd, 0);
  const std::string ready = "ready " + std::to_string(::getpid()) + "\n";
  ASSERT_EQ(::write(side_fd, ready.data(), ready.size()), static_cast<ssize_t>(ready.size()));
  std::uint64_t acknowledged = 0;
  for (std::uint64_t i = 0;; ++i) {
    AUDIT_EXPECT_OK((*log)->record(Event{"dek.unwrap", "ok", "k" + std::to_string(i % 7), "kill-test", {{"i", i}}}));
    const Head head = (*log)->last_checkpoint();
    if (head.seq != acknowledged) {
      acknowledged = head.seq;
      const std::string line = std::to_string(::getpid()) + " " + std::to_string(head.seq) + " " + head.hash + "\n";
      ASSERT_EQ(::write(side_fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    }
  }
}

pid_t spawn_child(const std::string& log, const std::string& uri) {
  ::setenv(kLogVariable, log.c_str(), 1);
  ::setenv(kUriVariable, uri.c_str(), 1);
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return -1;
  self[n] = '\0';
  std::string filter = "--gtest_filter=AuditKillChild.*";
  char* argv[] = {self, filter.data(), nullptr};
  pid_t pid = -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  const int rc = posix_spawn(&pid, self, &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::unsetenv(kLogVariable);
  ::unsetenv(kUriVariable);
  return rc == 0 ? pid : -1;
}

bool is_ready(const std::string& side, pid_t pid) {
  std::ifstream in(side);
  const std::string want = "ready " + std::to_string(pid);
  for (std::string line; std::getline(in, line);)
    if (line == want) return true;
  return false;
}

TEST(AuditKill, FourWritersKilledAtRandomLeaveAVerifiableLog) {
  if (!keyward::testing::can_make_more_tokens()) GTEST_SKIP() << "SoftHSM only";
  const char* kills_text = std::getenv("KEYWARD_AUDIT_KILLS");
  const int kills = kills_text ? std::atoi(kills_text) : 6;
  const std::string log = testing::fresh_log_path("kill");
  const std::string side = log + ".acknowledged";
  testing::test_anchor();  // the signer exists before the children race to use it
  const std::string uri = keyward::testing::test_token().uri;
  std::mt19937 random(20261201);  // fixed: a failure reproduces
  std::vector<pid_t> children;
  for (int i = 0; i < 4; ++i) children.push_back(spawn_child(log, uri));
  for (pid_t child : children) ASSERT_GT(child, 0);
  int landed = 0;
  while (landed < kills) {
    const std::size_t victim = random() % children.size();
    // Kill only a child past its login: SoftHSM rewrites its token file on login, and a kill there
    // damages the token, not the log (see tests/scripts/rotation_test.sh).
    for (int wait = 0; wait < 3000 && !is_ready(side, children[victim]); ++wait) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(is_ready(side, children[victim])) << "child " << children[victim] << " never got ready";
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + random() % 200));
    ASSERT_EQ(::kill(children[victim], SIGKILL), 0);
    int status = 0;
    ::waitpid(children[victim], &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "a child stopped on its own: status " << status;
    ++landed;
    children[victim] = spawn_child(log, uri);
    ASSERT_GT(children[victim], 0);
  }
  for (pid_t child : children) {
    for (int wait = 0; wait < 3000 && !is_ready(side, child); ++wait) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
  landed += static_cast<int>(children.size());

  auto report = verify_log(log, testing::test_anchor().get());
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->intact()) << describe(*report->first_problem);
  EXPECT_LE(report->partial_lines.size(), static_cast<std::size_t>(landed));

  // Every checkpoint a child saw acknowledged is in the log, at its seq, with its hash.
  std::map<std::uint64_t, std::string> hash_at;
  for (const auto& line : testing::read_lines(log))
    if (auto record = parse_record_line(line)) hash_at[record->seq] = record_hash(line);
  std::ifstream acknowledged(side);
  int promises = 0;
  for (std::string pid, seq, hash; acknowledged >> pid >> seq;) {
    if (pid == "ready") continue;
    acknowledged >> hash;
    ++promises;
    const auto at = hash_at.find(std::stoull(seq));
    ASSERT_NE(at, hash_at.end()) << "checkpoint " << seq << " of process " << pid << " is gone";
    EXPECT_EQ(at->second, hash) << "checkpoint " << seq << " of process " << pid << " changed";
  }
  EXPECT_GT(promises, 0) << "no child completed a checkpoint: the test proved nothing";

  // The next writer seals whatever a kill left, and the log still verifies.
  auto sealer = AuditLog::open(log, testing::test_anchor(), testing::manual_options());
  ASSERT_TRUE(sealer) << sealer.error().message;
  AUDIT_EXPECT_OK((*sealer)->close());
  auto after = verify_log(log, testing::test_anchor().get());
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->intact()) << describe(*after->first_problem);
}

}  // namespace
}  // namespace keyward::audit
