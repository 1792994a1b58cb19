#include "keyward/internal/byte_bridge.h"

#include <openssl/crypto.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

namespace keyward::internal {
namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;

class Descriptor {
 public:
  explicit Descriptor(int fd = -1) : fd_(fd) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() { close(); }
  int get() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

Error socket_error(const char* what) {
  return Error{ErrorCategory::io, std::string(what) + ": " + std::strerror(errno), std::nullopt};
}

// False once the reader is gone (the operation stopped reading).
bool send_all(int fd, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

struct Wiped {
  std::vector<std::uint8_t> bytes = std::vector<std::uint8_t>(kChunkBytes);
  ~Wiped() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

void feed(const ByteSource& source, Descriptor& writer, std::optional<Error>& out_error) {
  try {
    Wiped buffer;
    for (;;) {
      auto n = source(buffer.bytes);
      if (!n) {
        out_error = std::move(n).error();
        break;
      }
      if (*n == 0 || !send_all(writer.get(), std::span(buffer.bytes).first(*n))) break;
    }
  } catch (...) {
    out_error = Error{ErrorCategory::io, "reading the input stream threw an exception", std::nullopt};
  }
  writer.close();  // the operation sees the end of its input
}

void drain(const ByteSink& sink, Descriptor& reader, std::optional<Error>& out_error) {
  try {
    Wiped buffer;
    for (;;) {
      const ssize_t n = ::read(reader.get(), buffer.bytes.data(), buffer.bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (out_error) continue;  // keep reading: the operation must not block on a full socket
      auto written = sink(std::span(buffer.bytes).first(static_cast<std::size_t>(n)));
      if (!written) out_error = std::move(written).error();
    }
  } catch (...) {
    out_error = Error{ErrorCategory::io, "writing the output stream threw an exception", std::nullopt};
  }
  reader.close();
}

}  // namespace

Status run_between(const ByteSource& source, const ByteSink& sink, const DescriptorWork& work) {
  int in_pair[2], out_pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0) return fail(socket_error("socketpair"));
  Descriptor feeder_end(in_pair[1]), work_in(in_pair[0]);
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out_pair) != 0) return fail(socket_error("socketpair"));
  Descriptor drainer_end(out_pair[0]), work_out(out_pair[1]);

  std::optional<Error> source_error, sink_error;
  Status result;
  // Closing the operation's ends is what lets the helpers finish (end of input for the feeder's
  // sends, end of output for the drainer), so it comes before they are joined on every path,
  // including an exception from starting the second thread or from the operation.
  auto close_work_ends = [&] {
    work_in.close();
    work_out.close();
  };
  std::jthread feeder([&] { feed(source, feeder_end, source_error); });
  std::jthread drainer;
  try {
    drainer = std::jthread([&] { drain(sink, drainer_end, sink_error); });
    result = work(work_in.get(), work_out.get());
  } catch (...) {
    close_work_ends();
    throw;
  }
  close_work_ends();
  feeder.join();
  drainer.join();
  if (!result) return result;
  if (source_error) return fail(std::move(*source_error));
  if (sink_error) return fail(std::move(*sink_error));
  return {};
}

}  // namespace keyward::internal
