#include "base/output_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace keyward::envelope {
namespace {

constexpr std::string_view kTempInfix = ".keyward-tmp-";
constexpr mode_t kMode = 0600;  // plaintext or an envelope: the owner's only

Error io_error(const std::string& what, const std::string& path) {
  return Error{ErrorCategory::io, what + " '" + path + "': " + std::strerror(errno), std::nullopt};
}

std::string directory_of(const std::string& path) {
  auto dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? "." : dir.string();
}

// Named temporaries that a signal handler must remove before the process dies. Fixed storage: the
// handler may only call async-signal-safe functions (unlink, signal, raise).
struct TempSlot {
  std::atomic<bool> claimed{false};
  std::atomic<bool> ready{false};
  char path[PATH_MAX]{};
};
std::array<TempSlot, 16> temp_slots;

extern "C" void remove_temporaries_and_die(int signal_number) {
  for (auto& slot : temp_slots)
    if (slot.ready.load(std::memory_order_acquire)) ::unlink(slot.path);
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

void install_signal_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
      struct sigaction previous {};
      ::sigaction(signal_number, nullptr, &previous);
      if (previous.sa_handler != SIG_DFL) continue;  // ignored (nohup) or someone else's: leave it
      struct sigaction action {};
      action.sa_handler = remove_temporaries_and_die;
      sigemptyset(&action.sa_mask);
      ::sigaction(signal_number, &action, nullptr);
    }
  });
}

// Registers `path` for removal on a fatal signal; returns the slot, or -1 if every slot is taken
// (then only the next writer's stale cleanup removes it after a kill).
int register_temporary(const std::string& path) {
  if (path.size() >= PATH_MAX) return -1;
  install_signal_handlers();
  for (std::size_t i = 0; i < temp_slots.size(); ++i) {
    bool expected = false;
    if (!temp_slots[i].claimed.compare_exchange_strong(expected, true)) continue;
    std::memcpy(temp_slots[i].path, path.c_str(), path.size() + 1);
    temp_slots[i].ready.store(true, std::memory_order_release);
    return static_cast<int>(i);
  }
  return -1;
}

void unregister_temporary(int slot) {
  if (slot < 0) return;
  temp_slots[static_cast<std::size_t>(slot)].ready.store(false, std::memory_order_release);
  temp_slots[static_cast<std::size_t>(slot)].claimed.store(false, std::memory_order_release);
}

// Removes `TARGET.keyward-tmp-*` left by writers that died (SIGKILL, power loss) on the fallback
// path or inside commit(). A live writer holds an flock on its temporary, so a lock we can take
// means its writer is gone.
void remove_stale_temporaries(const std::string& target) {
  const std::string dir = directory_of(target);
  const std::string prefix = std::filesystem::path(target).filename().string() + std::string(kTempInfix);
  DIR* listing = ::opendir(dir.c_str());
  if (listing == nullptr) return;
  while (const dirent* entry = ::readdir(listing)) {
    if (std::strncmp(entry->d_name, prefix.c_str(), prefix.size()) != 0) continue;
    const std::string path = dir + "/" + entry->d_name;
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat info {};
    if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_uid == ::geteuid() &&
        ::flock(fd, LOCK_EX | LOCK_NB) == 0)
      ::unlink(path.c_str());
    ::close(fd);
  }
  ::closedir(listing);
}

std::string random_suffix() {
  std::array<std::uint8_t, 6> bytes{};
  RAND_bytes(bytes.data(), static_cast<int>(bytes.size()));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

void fsync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

const char* kind_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file, FIFO or character device";
}

}  // namespace

Result<OutputFile> OutputFile::open(const std::string& path, const OutputOptions& options) {
  OutputFile out;
  out.replace_ = options.replace_existing;
  if (path == "-") {
    out.fd_ = 1;
    return out;
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {
    if (S_ISFIFO(info.st_mode) || S_ISCHR(info.st_mode)) {
      // Written through, never replaced: no O_CREAT (it exists), no O_TRUNC (not a file).
      out.fd_ = ::open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
      if (out.fd_ < 0) return fail(io_error("cannot open", path));
      out.owns_fd_ = true;
      if (::fstat(out.fd_, &info) != 0 || !(S_ISFIFO(info.st_mode) || S_ISCHR(info.st_mode)))
        return make_error(ErrorCategory::usage, "'" + path + "' changed while being opened: try again");
      return out;
    }
    if (!S_ISREG(info.st_mode))
      return make_error(ErrorCategory::usage, "'" + path + "' is " + kind_name(info.st_mode) +
                                                  ": give a new file, a FIFO or character device, or - for stdout");
    if (!options.replace_existing)
      return make_error(ErrorCategory::usage, "'" + path + "' already exists: refusing to overwrite it (remove it first, or ask for replacing: the tools' --force, the library's replace_existing)");
    // A symlink to a regular file: replace the file it names, and keep the link a link.
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved) == nullptr) return fail(io_error("cannot resolve", path));
    out.target_ = resolved;
  } else if (errno == ENOENT) {
    struct stat link {};
    if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode))
      return make_error(ErrorCategory::usage, "'" + path + "' is a symbolic link to nothing: refusing to replace the link");
    out.target_ = path;
  } else {
    return fail(io_error("cannot examine", path));
  }

  remove_stale_temporaries(out.target_);
  const std::string dir = directory_of(out.target_);
  if (options.unnamed_temporary && ::access("/proc/self/fd", X_OK) == 0) {
    out.fd_ = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, kMode);
    if (out.fd_ >= 0) {
      out.owns_fd_ = true;
      out.kind_ = Kind::unnamed;
      ::flock(out.fd_, LOCK_EX);  // see remove_stale_temporaries (the commit window has a name)
      return out;
    }
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) return fail(io_error("cannot create a file in", dir));
  }
  // Fallback: a named temporary, locked while we live, removed on signals.
  for (int attempt = 0; attempt < 8; ++attempt) {
    // Registered before it exists: a signal between creating and registering would leave it
    // (seen once in OutputFile.SignalledDecryptionRemovesTheNamedTemporary); removing a name not
    // yet created is harmless.
    const std::string temp = out.target_ + std::string(kTempInfix) + random_suffix();
    const int slot = register_temporary(temp);
    int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kMode);
    if (fd < 0) {
      const int saved = errno;
      unregister_temporary(slot);
      if (saved == EEXIST) continue;
      errno = saved;
      return fail(io_error("cannot create a temporary file beside", out.target_));
    }
    struct stat created {};
    // Another writer's stale cleanup may have taken it between mkstemp and flock: then start over.
    if (::flock(fd, LOCK_EX) != 0 || ::fstat(fd, &created) != 0 || created.st_nlink == 0) {
      unregister_temporary(slot);
      ::close(fd);
      continue;
    }
    ::fchmod(fd, kMode);
    out.fd_ = fd;
    out.owns_fd_ = true;
    out.kind_ = Kind::named;
    out.temp_ = std::move(temp);
    out.slot_ = slot;
    return out;
  }
  return make_error(ErrorCategory::io, "cannot create a temporary file beside '" + out.target_ + "'");
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : kind_(other.kind_), fd_(other.fd_), owns_fd_(other.owns_fd_), replace_(other.replace_), slot_(other.slot_),
      target_(std::move(other.target_)), temp_(std::move(other.temp_)) {
  other.fd_ = -1;
  other.owns_fd_ = false;
  other.slot_ = -1;
  other.temp_.clear();
}

OutputFile::~OutputFile() { discard(); }

void OutputFile::discard() {
  if (!temp_.empty()) ::unlink(temp_.c_str());
  unregister_temporary(slot_);
  slot_ = -1;
  temp_.clear();
  if (owns_fd_ && fd_ >= 0) ::close(fd_);  // an unnamed temporary vanishes with its last descriptor
  fd_ = -1;
  owns_fd_ = false;
}

Status OutputFile::commit() {
  if (kind_ == Kind::stream) return {};
  if (::fsync(fd_) != 0) return fail(io_error("cannot fsync the output for", target_));
  auto exists_now = [&] {
    return make_error(ErrorCategory::usage, "'" + target_ + "' appeared while writing: not replaced (remove it first, or ask for replacing: the tools' --force, the library's replace_existing)");
  };
  if (kind_ == Kind::unnamed) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd_);
    if (!replace_) {
      // linkat never replaces: an OUT created meanwhile by someone else is kept.
      if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, target_.c_str(), AT_SYMLINK_FOLLOW) != 0)
        return errno == EEXIST ? exists_now() : fail(io_error("cannot link the output into", target_));
    } else {
      // No "link and replace" exists: link under a temporary name, then rename over OUT. The name
      // lives for two system calls; a signal removes it, and after SIGKILL the next writer does.
      std::string temp;
      for (int attempt = 0;; ++attempt) {
        temp = target_ + std::string(kTempInfix) + random_suffix();
        slot_ = register_temporary(temp);
        if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, temp.c_str(), AT_SYMLINK_FOLLOW) == 0) break;
        const int saved = errno;
        unregister_temporary(slot_);
        slot_ = -1;
        errno = saved;
        if (saved != EEXIST || attempt == 8) return fail(io_error("cannot link the output beside", target_));
      }
      temp_ = temp;
      if (::rename(temp.c_str(), target_.c_str()) != 0) return fail(io_error("cannot rename into", target_));
      temp_.clear();
    }
  } else if (!replace_) {
    if (::link(temp_.c_str(), target_.c_str()) != 0)
      return errno == EEXIST ? exists_now() : fail(io_error("cannot link the output into", target_));
    ::unlink(temp_.c_str());
    temp_.clear();
  } else {
    if (::rename(temp_.c_str(), target_.c_str()) != 0) return fail(io_error("cannot rename into", target_));
    temp_.clear();
  }
  unregister_temporary(slot_);
  slot_ = -1;
  fsync_directory(directory_of(target_));
  return {};
}

}  // namespace keyward::envelope
