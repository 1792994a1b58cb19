// Where encrypt and decrypt write (issue 9): never replace a device, FIFO or link with a file, never
// overwrite an existing OUT unless asked, and leave no temporary behind on failure, signal or kill.
#include "base/output_file.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "envelope/envelope_file.h"
#include "tests/envelope/envelope_test_support.h"

namespace keyward::envelope {
namespace {

using namespace testing;
namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  std::string dir = keyward::testing::scratch_dir("output-file") + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

struct Sample {
  SecretBytes dek = random_key();
  std::vector<std::uint8_t> plain = random_bytes(3 * kMinSegmentSize + 10);
  std::vector<std::uint8_t> envelope = encrypt_bytes(plain, dek, {});
  DekResolver resolver() const {
    return [this](const ParsedPrefix&) { return Result<SecretBytes>(dek.clone()); };
  }
};

std::string as_string(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

TEST(OutputFile, AnExistingFileIsRefusedUnlessReplaceIsAsked) {
  Sample sample;
  const auto dir = fresh_dir("existing");
  write_text(dir + "/env", as_string(sample.envelope));
  write_text(dir + "/out", "precious");
  auto refused = decrypt_file_atomically(dir + "/env", dir + "/out", {}, sample.resolver());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("--force"), std::string::npos) << refused.error().message;
  EXPECT_EQ(read_text(dir + "/out"), "precious");
  const DataKey key{random_key(), DekId{}, sample_section()};
  EXPECT_FALSE(encrypt_file_atomically(dir + "/env", dir + "/out", key, {}, EncryptOptions{}));
  EXPECT_EQ(read_text(dir + "/out"), "precious");
  EXPECT_EQ(entries(dir), (std::vector<std::string>{"env", "out"})) << "no temporary left";

  ASSERT_TRUE(decrypt_file_atomically(dir + "/env", dir + "/out", {}, sample.resolver(), 1, OutputOptions{.replace_existing = true}));
  EXPECT_EQ(read_text(dir + "/out"), as_string(sample.plain));
  EXPECT_EQ(fs::status(dir + "/out").permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

TEST(OutputFile, ReplacingThroughASymlinkKeepsTheLink) {
  Sample sample;
  const auto dir = fresh_dir("symlink");
  write_text(dir + "/env", as_string(sample.envelope));
  write_text(dir + "/target", "old");
  fs::create_symlink(dir + "/target", dir + "/link");
  EXPECT_FALSE(decrypt_file_atomically(dir + "/env", dir + "/link", {}, sample.resolver()));
  ASSERT_TRUE(decrypt_file_atomically(dir + "/env", dir + "/link", {}, sample.resolver(), 1, OutputOptions{.replace_existing = true}));
  EXPECT_TRUE(fs::is_symlink(dir + "/link"));
  EXPECT_EQ(read_text(dir + "/target"), as_string(sample.plain));
  // A link to nothing is not replaced by a file either.
  fs::create_symlink(dir + "/nothing", dir + "/dangling");
  EXPECT_FALSE(decrypt_file_atomically(dir + "/env", dir + "/dangling", {}, sample.resolver(), 1, OutputOptions{.replace_existing = true}));
  EXPECT_TRUE(fs::is_symlink(dir + "/dangling"));
  EXPECT_FALSE(fs::exists(dir + "/nothing"));
}

TEST(OutputFile, ACharacterDeviceIsWrittenThroughAndStaysADevice) {
  Sample sample;
  const auto dir = fresh_dir("chardev");
  write_text(dir + "/env", as_string(sample.envelope));
  ASSERT_TRUE(decrypt_file_atomically(dir + "/env", "/dev/null", {}, sample.resolver()));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  // Not replaced even when replacing is allowed: write-through, not a temporary and a rename.
  ASSERT_TRUE(decrypt_file_atomically(dir + "/env", "/dev/null", {}, sample.resolver(), 1, OutputOptions{.replace_existing = true}));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  for (const auto& name : entries("/dev")) EXPECT_EQ(name.find(".keyward-tmp-"), std::string::npos) << name;
}

TEST(OutputFile, AFifoIsWrittenThroughAndStaysAFifo) {
  Sample sample;
  const auto dir = fresh_dir("fifo");
  write_text(dir + "/env", as_string(sample.envelope));
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = read_text(dir + "/fifo"); });
  auto result = decrypt_file_atomically(dir + "/env", dir + "/fifo", {}, sample.resolver());
  reader.join();
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(received, as_string(sample.plain));
  EXPECT_TRUE(fs::is_fifo(dir + "/fifo"));
  EXPECT_EQ(entries(dir), (std::vector<std::string>{"env", "fifo"}));
}

TEST(OutputFile, ASymlinkToProcSelfFdIsWrittenThroughAndStaysALink) {
  Sample small;
  small.plain = random_bytes(1000);  // fits in a pipe buffer: no reader thread needed
  small.envelope = encrypt_bytes(small.plain, small.dek, {});
  const auto dir = fresh_dir("procfd");
  write_text(dir + "/env", as_string(small.envelope));
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  fs::create_symlink("/proc/self/fd/" + std::to_string(fds[1]), dir + "/stdout-link");
  auto result = decrypt_file_atomically(dir + "/env", dir + "/stdout-link", {}, small.resolver());
  ::close(fds[1]);
  ASSERT_TRUE(result) << result.error().message;
  std::string received(2000, '\0');
  received.resize(static_cast<std::size_t>(::read(fds[0], received.data(), received.size())));
  ::close(fds[0]);
  EXPECT_EQ(received, as_string(small.plain));
  EXPECT_TRUE(fs::is_symlink(dir + "/stdout-link"));
}

TEST(OutputFile, ADirectoryIsRefused) {
  Sample sample;
  const auto dir = fresh_dir("directory");
  write_text(dir + "/env", as_string(sample.envelope));
  fs::create_directories(dir + "/sub");
  auto result = decrypt_file_atomically(dir + "/env", dir + "/sub", {}, sample.resolver(), 1, OutputOptions{.replace_existing = true});
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("a directory"), std::string::npos) << result.error().message;
  EXPECT_TRUE(fs::is_directory(dir + "/sub"));
}

TEST(OutputFile, AFailedDecryptionLeavesNothingOnEitherPath) {
  for (bool unnamed : {true, false}) {
    Sample sample;
    const auto dir = fresh_dir(unnamed ? "fail-unnamed" : "fail-named");
    auto bad = sample.envelope;
    bad[bad.size() - 1] ^= 1;
    write_text(dir + "/env", as_string(bad));
    auto result = decrypt_file_atomically(dir + "/env", dir + "/out", {}, sample.resolver(), 1,
                                          OutputOptions{.unnamed_temporary = unnamed});
    ASSERT_FALSE(result);
    EXPECT_EQ(entries(dir), (std::vector<std::string>{"env"})) << "unnamed " << unnamed;
  }
}

// A child decrypts from a pipe fed only in part, so it is caught mid-decryption with its output
// open; the parent then signals it.
bool child_has_output_open(pid_t pid, const std::string& dir, bool unnamed) {
  // Watchdog: bounded polling, then the test fails (no timing assertion on the work itself).
  for (int i = 0; i < 2000; ++i) {
    if (!unnamed) {
      for (const auto& name : entries(dir))
        if (name.find(".keyward-tmp-") != std::string::npos) return true;
    } else {
      std::error_code ignored;
      for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ignored)) {
        auto target = fs::read_symlink(entry.path(), ignored).string();
        if (target.rfind(dir + "/#", 0) == 0) return true;  // an O_TMPFILE file shows as DIR/#INODE (deleted)
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void run_killed_decryption(bool unnamed, int signal_number, const std::string& name) {
  Sample sample;
  const auto dir = fresh_dir(name);
  const std::string out = dir + "/out";
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[1]);
    ::dup2(fds[0], 0);
    auto result = decrypt_file_atomically("-", out, {}, sample.resolver(), 1, OutputOptions{.unnamed_temporary = unnamed});
    _exit(result ? 0 : 1);
  }
  ::close(fds[0]);
  // The prefix and two of four segments: the child writes their plaintext, then waits for more.
  const std::size_t part = parse_prefix(sample.envelope)->body_offset() + 2 * (kMinSegmentSize + kTagBytes);
  ASSERT_EQ(::write(fds[1], sample.envelope.data(), part), static_cast<ssize_t>(part));
  const bool open = child_has_output_open(pid, dir, unnamed);
  ::kill(pid, signal_number);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(fds[1]);
  ASSERT_TRUE(open) << "the child never opened its output";
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == signal_number) << "status " << status;
  if (unnamed || signal_number != SIGKILL) {
    EXPECT_TRUE(entries(dir).empty()) << name << ": left " << (entries(dir).empty() ? "" : entries(dir).front());
  } else {
    // SIGKILL cannot be caught: the named temporary stays until the next writer of OUT removes it.
    EXPECT_EQ(entries(dir).size(), 1u);
    write_text(dir + "/env", as_string(sample.envelope));
    ASSERT_TRUE(decrypt_file_atomically(dir + "/env", out, {}, sample.resolver(), 1, OutputOptions{.unnamed_temporary = false}));
    EXPECT_EQ(entries(dir), (std::vector<std::string>{"env", "out"})) << "the stale temporary was removed";
  }
}

TEST(OutputFile, KilledDecryptionLeavesNothingWithAnUnnamedTemporary) {
  run_killed_decryption(true, SIGKILL, "kill-unnamed");
  run_killed_decryption(true, SIGTERM, "term-unnamed");
}

TEST(OutputFile, SignalledDecryptionRemovesTheNamedTemporary) {
  run_killed_decryption(false, SIGTERM, "term-named");
  run_killed_decryption(false, SIGINT, "int-named");
  run_killed_decryption(false, SIGHUP, "hup-named");
}

TEST(OutputFile, ANamedTemporaryLeftBySigkillIsRemovedByTheNextWriter) {
  run_killed_decryption(false, SIGKILL, "kill-named");
}

}  // namespace
}  // namespace keyward::envelope
