#include "envelope/envelope_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace keyward::envelope {
namespace {

Error io_error(const std::string& what, const std::string& path) {
  return Error{ErrorCategory::io, what + " '" + path + "': " + std::strerror(errno), std::nullopt};
}

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int value) : fd(value) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd > 2) ::close(fd);
  }
};

Result<int> open_input(const std::string& path) {
  if (path == "-") return 0;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(io_error("cannot open", path));
  return fd;
}

// Runs `produce(out_fd)` into a temporary beside `out_path` ("-" = stdout, written directly), then
// renames it into place only on success.
template <class Produce>
auto write_atomically(const std::string& out_path, Produce&& produce) -> decltype(produce(1)) {
  if (out_path == "-") return produce(1);
  std::string temp = out_path + ".keyward-tmp-XXXXXX";
  int fd = ::mkstemp(temp.data());
  if (fd < 0) return fail(io_error("cannot create a temporary file beside", out_path));
  Fd closer(fd);
  auto result = produce(fd);
  if (result && ::fsync(fd) != 0) result = fail(io_error("cannot fsync", temp));
  if (result && ::rename(temp.c_str(), out_path.c_str()) != 0) result = fail(io_error("cannot rename into", out_path));
  if (!result) {
    ::unlink(temp.c_str());
    return result;
  }
  auto dir = std::filesystem::path(out_path).parent_path();
  Fd dir_fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.fd >= 0) ::fsync(dir_fd.fd);
  return result;
}

}  // namespace

Result<DecryptSummary> decrypt_file_atomically(const std::string& in_path, const std::string& out_path,
                                               const EncryptionContext& expected_context, const DekResolver& resolve_dek,
                                               unsigned threads) {
  KW_ASSIGN_OR_RETURN(int in_fd, open_input(in_path));
  Fd closer(in_fd);
  return write_atomically(out_path, [&](int out_fd) {
    return decrypt_stream(in_fd, out_fd, expected_context, resolve_dek, threads);
  });
}

Result<std::uint64_t> encrypt_file_atomically(const std::string& in_path, const std::string& out_path,
                                              const SecretBytes& dek, const DekId& dek_id, const KeySection& key_section,
                                              const EncryptionContext& context, const EncryptOptions& options) {
  KW_ASSIGN_OR_RETURN(int in_fd, open_input(in_path));
  Fd closer(in_fd);
  return write_atomically(out_path, [&](int out_fd) {
    return encrypt_stream(in_fd, out_fd, dek, dek_id, key_section, context, options);
  });
}

}  // namespace keyward::envelope
