// Each fuzz target defines LLVMFuzzerTestOneInput (libFuzzer's entry point) and fuzz_seeds(): real
// inputs made by the code under test. write_seeds (standalone_driver.cc) stores them as the target's
// corpus in tests/fuzz/corpus/<target>/; the standalone driver also mutates them when libFuzzer is not
// the driver (the g++ builds).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
std::vector<std::vector<std::uint8_t>> fuzz_seeds();

namespace keyward::fuzz {

// A property the target checks beyond "no crash" failed: report it and abort, so libFuzzer saves
// the input as a crash artifact.
[[noreturn]] inline void property_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz property violated at %s:%d: %s\n", file, line, what);
  std::abort();
}

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline std::vector<std::uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

// An in-memory file holding `bytes`, positioned at its start (for parsers that read a descriptor or
// a path: /proc/self/fd/N). The caller closes it.
inline int memory_file(std::span<const std::uint8_t> bytes) {
  const int fd = ::memfd_create("keyward-fuzz", MFD_CLOEXEC);
  if (fd < 0) property_failed("memfd_create failed", __FILE__, __LINE__);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) property_failed("writing the in-memory file failed", __FILE__, __LINE__);
    done += static_cast<std::size_t>(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

// Splits an input into parts at each 0 byte (how a target takes several strings from one input).
inline std::vector<std::string> split_at_zero(std::string_view text) {
  std::vector<std::string> parts(1);
  for (char c : text) {
    if (c == '\0') parts.emplace_back();
    else parts.back() += c;
  }
  return parts;
}

}  // namespace keyward::fuzz

#define FUZZ_CHECK(condition) \
  ((condition) ? (void)0 : ::keyward::fuzz::property_failed(#condition, __FILE__, __LINE__))
