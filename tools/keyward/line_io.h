// Line I/O for `keyward field`: one value per line on stdin, one result per line on stdout, read
// and written in 256 KiB blocks (one read(2) or write(2) per block, never per character or line,
// and no flush per line). Plaintext goes through one side or the other, so both buffers are
// SecretBytes (locked, wiped when the reader or writer goes) and the bytes a reader has moved past
// are wiped as it refills.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "base/error.h"
#include "base/secret_bytes.h"

namespace keyward::cli {

class LineReader {
 public:
  enum class Read { line, too_long, end };

  // Lines of at most `limit` bytes (without the newline) from `fd`, which the reader does not own.
  LineReader(int fd, std::size_t limit);
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line, without its newline, in `out` (valid until the next call). As std::getline: a
  // last line without a newline counts, an empty input has no line. too_long: the line has more
  // than `limit` bytes before its newline; none of it is returned and at most limit + 1 bytes of it
  // are held, whatever its length. Errors: io (read failed).
  Result<Read> next(std::string_view& out);

 private:
  Status fill();  // moves the unread bytes to the front, wipes what they leave behind, reads more

  int fd_;
  std::size_t limit_;
  SecretBytes buffer_;
  std::size_t begin_ = 0, end_ = 0;  // unread bytes: [begin_, end_)
  bool input_ended_ = false;
};

class LineWriter {
 public:
  // Writes to `fd`, which the writer does not own.
  explicit LineWriter(int fd);
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;
  // Wipes what is still buffered without writing it: call flush() to write and see its outcome.
  ~LineWriter() = default;

  // Appends `line` and a newline; writes the buffer out when it is full. Errors: io.
  Status write_line(std::span<const std::uint8_t> line);
  Status write_line(std::string_view line) {
    return write_line(std::span(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
  }
  // Writes everything buffered. Errors: io (a closed pipe, a full disk).
  Status flush();

 private:
  int fd_;
  SecretBytes buffer_;
  std::size_t used_ = 0;
};

}  // namespace keyward::cli
