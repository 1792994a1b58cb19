// A whole envelope file through decrypt_stream and decrypt_range (envelope/stream.h) with a fixed
// DEK, as `keyward decrypt` reads a file it was given. Properties: never crashes or hangs; success
// reports as many plaintext bytes as it wrote; decrypt_range agrees byte for byte with decrypt_stream
// on the whole plaintext and on a slice chosen by the input; a failure is corrupt_input,
// authentication or usage.
#include <unistd.h>

#include <algorithm>
#include <string>

#include "envelope/stream.h"
#include "tests/fuzz/fuzz_target.h"

using namespace keyward;

namespace {

SecretBytes fixture_dek() { return SecretBytes::copy_of(std::vector<std::uint8_t>(32, 0x24)); }

const envelope::EncryptionContext& fixture_context() {
  static const envelope::EncryptionContext context{{"tenant", "acme"}};
  return context;
}

Result<SecretBytes> resolve(const envelope::ParsedPrefix&) { return fixture_dek(); }

std::vector<std::uint8_t> read_all(int fd) {
  std::vector<std::uint8_t> out;
  ::lseek(fd, 0, SEEK_SET);
  std::uint8_t buffer[65536];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) out.insert(out.end(), buffer, buffer + n);
  return out;
}

bool expected_failure(const Error& error) {
  return error.category == ErrorCategory::corrupt_input || error.category == ErrorCategory::authentication ||
         error.category == ErrorCategory::usage;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int in = fuzz::memory_file({data, size});
  const int out = fuzz::memory_file({});
  auto summary = envelope::decrypt_stream(in, out, fixture_context(), resolve);
  if (!summary) {
    FUZZ_CHECK(expected_failure(summary.error()));
    auto range = envelope::decrypt_range(in, 0, 1, fixture_context(), resolve);
    FUZZ_CHECK(range || expected_failure(range.error()));
  } else {
    const auto plain = read_all(out);
    FUZZ_CHECK(plain.size() == summary->plaintext_bytes);
    auto whole = envelope::decrypt_range(in, 0, plain.size(), fixture_context(), resolve);
    FUZZ_CHECK(whole && std::equal(plain.begin(), plain.end(), whole->reveal().begin(), whole->reveal().end()));
    if (!plain.empty()) {
      const std::uint64_t offset = (size * 7919u) % plain.size();
      const std::uint64_t length = std::min<std::uint64_t>(plain.size() - offset, 1 + size % 5000);
      auto slice = envelope::decrypt_range(in, offset, length, fixture_context(), resolve);
      FUZZ_CHECK(slice && std::equal(plain.begin() + static_cast<long>(offset), plain.begin() + static_cast<long>(offset + length),
                                     slice->reveal().begin(), slice->reveal().end()));
    }
  }
  ::close(in);
  ::close(out);
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  std::vector<std::vector<std::uint8_t>> seeds;
  for (std::size_t length : {std::size_t{0}, std::size_t{1}, std::size_t{4096}, std::size_t{9000}}) {
    std::vector<std::uint8_t> plain(length);
    for (std::size_t i = 0; i < length; ++i) plain[i] = static_cast<std::uint8_t>(i * 31);
    const int in = fuzz::memory_file(plain);
    const int out = fuzz::memory_file({});
    envelope::DataKey key{fixture_dek(), {}, {"payments", 1, std::vector<std::uint8_t>(40, 7)}};
    key.id.fill(0x33);
    auto encrypted = envelope::encrypt_stream(in, out, key, fixture_context(), {envelope::kMinSegmentSize, 1});
    if (encrypted) seeds.push_back(read_all(out));
    ::close(in);
    ::close(out);
  }
  return seeds;
}
