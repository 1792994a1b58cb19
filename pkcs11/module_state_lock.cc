#include "pkcs11/module_state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

namespace keyward::p11 {
namespace {

Error io_error(const std::string& what) {
  return Error{ErrorCategory::io, what + ": " + std::strerror(errno), std::nullopt};
}

// A stable name for the module, the same in every build and process (not a security function:
// it only spreads unrelated modules over different lock files).
std::string module_key(const std::string& module_path) {
  char resolved[PATH_MAX];
  const std::string path = ::realpath(module_path.c_str(), resolved) ? std::string(resolved) : module_path;
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a, 64 bits
  for (char c : path) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return std::filesystem::path(path).filename().string() + "-" + hex;
}

Result<std::string> lock_directory() {
  if (const char* dir = std::getenv("KEYWARD_LOCK_DIR"); dir && *dir) return std::string(dir);
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) return std::string(runtime) + "/keyward";
  return "/tmp/keyward-" + std::to_string(::getuid());
}

// The directory must be ours and closed to others: a lock file another user could replace or hold
// would let them stall or confuse our logins.
Status ensure_private_directory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail(io_error("cannot create lock directory '" + dir + "'"));
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0) return fail(io_error("cannot inspect lock directory '" + dir + "'"));
  if (!S_ISDIR(info.st_mode) || info.st_uid != ::getuid() || (info.st_mode & 0022) != 0)
    return make_error(ErrorCategory::io, "lock directory '" + dir +
                                             "' is not a directory owned by this user and closed to others: remove it, or "
                                             "set KEYWARD_LOCK_DIR to a private directory");
  return {};
}

}  // namespace

Result<std::string> ModuleStateLock::path_for(const std::string& module_path) {
  KW_ASSIGN_OR_RETURN(auto dir, lock_directory());
  return dir + "/" + module_key(module_path) + ".lock";
}

Result<ModuleStateLock> ModuleStateLock::acquire(const std::string& module_path, std::chrono::milliseconds patience) {
  return acquire_file(module_key(module_path), patience,
                      "module lock, a keyward process may be stuck in C_Initialize or C_Login");
}

Result<ModuleStateLock> ModuleStateLock::acquire_named(const std::string& name, std::string_view purpose,
                                                       std::chrono::milliseconds patience) {
  const bool safe = !name.empty() && name[0] != '.' && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
  if (!safe) return make_error(ErrorCategory::internal, "invalid lock name '" + name + "'");
  return acquire_file(name, patience, std::string(purpose));
}

Result<ModuleStateLock> ModuleStateLock::acquire_file(const std::string& name, std::chrono::milliseconds patience,
                                                      const std::string& purpose) {
  KW_ASSIGN_OR_RETURN(auto dir, lock_directory());
  KW_TRY(ensure_private_directory(dir));
  const std::string path = dir + "/" + name + ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(io_error("cannot open lock file '" + path + "'"));
  ModuleStateLock lock(fd);
  // flock, not fcntl: fcntl locks belong to the process, so a second descriptor in the same
  // process would not exclude it; flock locks belong to the open file and do.
  const auto deadline = std::chrono::steady_clock::now() + patience;
  auto pause = std::chrono::microseconds(200);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return fail(io_error("cannot lock '" + path + "'"));
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(ErrorCategory::token, "another process has held the lock '" + path + "' for " +
                                                  std::to_string(patience.count()) + " ms (" + purpose + ")");
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20'000));
  }
  return lock;
}

ModuleStateLock::ModuleStateLock(ModuleStateLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

ModuleStateLock& ModuleStateLock::operator=(ModuleStateLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

ModuleStateLock::~ModuleStateLock() { release(); }

void ModuleStateLock::release() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));  // closing the last descriptor releases the flock
}

}  // namespace keyward::p11
