// The line reader of `keyward field` (tools/keyward/line_io.h), which splits stdin into values.
// Input: a limit byte, then the text. Properties: the reader yields exactly std::getline's lines
// (a last line without a newline counts, an empty input has none) until the first line longer than
// the limit, which it reports as too long instead of returning any of it.
#include <unistd.h>

#include <string>

#include "tests/fuzz/fuzz_target.h"
#include "tools/keyward/line_io.h"

using namespace keyward;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t limit = data[0] % 64;
  const std::string_view text = fuzz::text_of(data + 1, size - 1);
  const int fd = fuzz::memory_file({data + 1, size - 1});
  cli::LineReader reader(fd, limit);
  std::size_t begin = 0;
  for (;;) {
    std::string_view line;
    auto read = reader.next(line);
    FUZZ_CHECK(read.has_value());
    if (begin >= text.size()) {
      FUZZ_CHECK(*read == cli::LineReader::Read::end);
      break;
    }
    const std::size_t end = std::min(text.find('\n', begin), text.size());
    if (end - begin > limit) {
      FUZZ_CHECK(*read == cli::LineReader::Read::too_long);
      break;
    }
    FUZZ_CHECK(*read == cli::LineReader::Read::line && line == text.substr(begin, end - begin));
    begin = end + 1;
  }
  ::close(fd);
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  using fuzz::bytes_of;
  auto with_limit = [](std::uint8_t limit, std::string_view text) {
    std::vector<std::uint8_t> bytes{limit};
    bytes.insert(bytes.end(), text.begin(), text.end());
    return bytes;
  };
  return {with_limit(40, "alice@example.com\nbob@example.com\n\ncarol@example.com"),
          with_limit(8, "short\nmuch too long for the limit\nnext\n"), with_limit(0, "\n\n\n")};
}
