#include "envelope/envelope_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace keyward::envelope {
namespace {

struct Input {
  int fd = -1;
  Input() = default;
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;
  ~Input() {
    if (fd > 2) ::close(fd);
  }
};

Status open_input(const std::string& path, Input& out_input) {
  if (path == "-") {
    out_input.fd = 0;
    return {};
  }
  out_input.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (out_input.fd < 0)
    return make_error(ErrorCategory::io, "cannot open '" + path + "': " + std::strerror(errno));
  return {};
}

// Runs `produce(out_fd)` into OUT and commits only on success; the OutputFile discards otherwise.
template <class Produce>
auto write_output(const std::string& out_path, const OutputOptions& options, Produce&& produce) -> decltype(produce(1)) {
  KW_ASSIGN_OR_RETURN(auto output, OutputFile::open(out_path, options));
  auto result = produce(output.fd());
  if (!result) return result;
  KW_TRY(output.commit());
  return result;
}

}  // namespace

Result<DecryptSummary> decrypt_file_atomically(const std::string& in_path, const std::string& out_path,
                                               const EncryptionContext& expected_context, const DekResolver& resolve_dek,
                                               unsigned threads, const OutputOptions& output) {
  Input input;
  KW_TRY(open_input(in_path, input));
  return write_output(out_path, output, [&](int out_fd) {
    return decrypt_stream(input.fd, out_fd, expected_context, resolve_dek, threads);
  });
}

Result<std::uint64_t> encrypt_file_atomically(const std::string& in_path, const std::string& out_path,
                                              const DataKey& key, const EncryptionContext& context, const EncryptOptions& options,
                                              const OutputOptions& output) {
  Input input;
  KW_TRY(open_input(in_path, input));
  return write_output(out_path, output, [&](int out_fd) {
    return encrypt_stream(input.fd, out_fd, key, context, options);
  });
}

}  // namespace keyward::envelope
