#include "base/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace keyward::cli {
namespace {

Error io_error(const std::string& what, const std::string& path) {
  return Error{ErrorCategory::io, what + " '" + path + "': " + std::strerror(errno), std::nullopt};
}

Status write_all(int fd, std::string_view text, const std::string& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(io_error("cannot write", path));
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail(io_error("cannot fsync", path));
  return {};
}

void fsync_directory_of(const std::string& path) {
  auto dir = std::filesystem::path(path).parent_path();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

Status write_new_file(const std::string& path, std::string_view text, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) {
    if (errno == EEXIST)
      return make_error(ErrorCategory::usage, "'" + path + "' already exists: refusing to overwrite it");
    return fail(io_error("cannot create", path));
  }
  ::fchmod(fd, static_cast<mode_t>(mode));  // the umask must not loosen or tighten what was asked
  auto written = write_all(fd, text, path);
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return written;
  }
  fsync_directory_of(path);
  return {};
}

Status replace_file_atomically(const std::string& path, std::string_view text, unsigned mode) {
  std::string temp = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(temp.data());
  if (fd < 0) return fail(io_error("cannot create a temporary file beside", path));
  ::fchmod(fd, static_cast<mode_t>(mode));
  auto written = write_all(fd, text, temp);
  ::close(fd);
  if (!written || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return written ? fail(io_error("cannot rename into", path)) : written;
  }
  fsync_directory_of(path);
  return {};
}

Result<std::string> read_small_file(const std::string& path, std::size_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(io_error("cannot open", path));
  std::string text;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return fail(io_error("cannot read", path));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > limit) {
      ::close(fd);
      return make_error(ErrorCategory::usage, "'" + path + "' is larger than expected (" + std::to_string(limit) + " bytes)");
    }
  }
  ::close(fd);
  return text;
}

}  // namespace keyward::cli
