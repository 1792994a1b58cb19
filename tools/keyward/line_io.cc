#include "tools/keyward/line_io.h"

#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace keyward::cli {
namespace {

constexpr std::size_t kBlockBytes = std::size_t{256} << 10;

Error io_error(const char* what) {
  return Error{ErrorCategory::io, std::string(what) + ": " + std::strerror(errno), std::nullopt};
}

Status write_all(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(io_error("writing the output failed (closed pipe or full disk?)"));
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

// Room for a whole line of the limit and its newline, so that "too long" is always decidable.
LineReader::LineReader(int fd, std::size_t limit) : fd_(fd), limit_(limit), buffer_(std::max(kBlockBytes, limit + 2)) {}

Status LineReader::fill() {
  std::uint8_t* data = buffer_.reveal_mutable().data();
  const std::size_t unread = end_ - begin_;
  if (begin_ > 0) {
    std::memmove(data, data + begin_, unread);
    OPENSSL_cleanse(data + unread, end_ - unread);  // lines already handed out (plaintext, for encrypt)
    begin_ = 0;
    end_ = unread;
  }
  for (;;) {
    const ssize_t n = ::read(fd_, data + end_, buffer_.size() - end_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(io_error("reading the input failed"));
    if (n == 0) input_ended_ = true;
    end_ += static_cast<std::size_t>(n);
    return {};
  }
}

Result<LineReader::Read> LineReader::next(std::string_view& out) {
  for (;;) {
    const auto* data = reinterpret_cast<const char*>(buffer_.reveal().data());
    const std::size_t unread = end_ - begin_;
    const auto* newline = static_cast<const char*>(std::memchr(data + begin_, '\n', std::min(unread, limit_ + 1)));
    if (newline != nullptr) {
      out = std::string_view(data + begin_, static_cast<std::size_t>(newline - (data + begin_)));
      begin_ += out.size() + 1;
      return Read::line;
    }
    if (unread > limit_) return Read::too_long;
    if (input_ended_) {
      if (unread == 0) return Read::end;
      out = std::string_view(data + begin_, unread);
      begin_ = end_;
      return Read::line;
    }
    KW_TRY(fill());
  }
}

LineWriter::LineWriter(int fd) : fd_(fd), buffer_(kBlockBytes) {}

Status LineWriter::write_line(std::span<const std::uint8_t> line) {
  if (used_ + line.size() + 1 > buffer_.size()) {
    KW_TRY(flush());
    if (line.size() + 1 > buffer_.size()) {  // longer than a block: straight through
      KW_TRY(write_all(fd_, line.data(), line.size()));
      const std::uint8_t newline = '\n';
      return write_all(fd_, &newline, 1);
    }
  }
  std::uint8_t* data = buffer_.reveal_mutable().data();
  if (!line.empty()) std::memcpy(data + used_, line.data(), line.size());
  data[used_ + line.size()] = '\n';
  used_ += line.size() + 1;
  return {};
}

Status LineWriter::flush() {
  const std::size_t used = used_;
  used_ = 0;
  auto written = write_all(fd_, buffer_.reveal().data(), used);
  OPENSSL_cleanse(buffer_.reveal_mutable().data(), used);
  return written;
}

}  // namespace keyward::cli
