// Helpers for envelope tests: envelopes in memory through pipes-free temporary files.
#pragma once

#include <openssl/rand.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "envelope/stream.h"
#include "tests/support/test_token.h"

namespace keyward::envelope::testing {

inline SecretBytes random_key() {
  SecretBytes key(32);
  RAND_bytes(key.reveal_mutable().data(), 32);
  return key;
}

inline std::vector<std::uint8_t> random_bytes(std::size_t size) {
  std::vector<std::uint8_t> bytes(size);
  if (size) RAND_bytes(bytes.data(), static_cast<int>(size));
  return bytes;
}

// A temporary file holding `bytes`, opened for reading; closed and removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::vector<std::uint8_t>& bytes = {}) {
    path_ = keyward::testing::scratch_dir("envelopes") + "/f-XXXXXX";
    fd_ = ::mkstemp(path_.data());
    if (!bytes.empty()) (void)!::write(fd_, bytes.data(), bytes.size());
    ::lseek(fd_, 0, SEEK_SET);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  std::vector<std::uint8_t> contents() const {
    std::vector<std::uint8_t> out(static_cast<std::size_t>(::lseek(fd_, 0, SEEK_END)));
    (void)!::pread(fd_, out.data(), out.size(), 0);
    return out;
  }
  void rewind() const { ::lseek(fd_, 0, SEEK_SET); }

 private:
  std::string path_;
  int fd_ = -1;
};

inline KeySection sample_section(std::uint32_t version = 1) {
  return KeySection{"payments", version, std::vector<std::uint8_t>(40, static_cast<std::uint8_t>(version))};
}

struct Sealed {
  std::vector<std::uint8_t> envelope;
};

inline std::vector<std::uint8_t> encrypt_bytes(const std::vector<std::uint8_t>& plain, const SecretBytes& dek,
                                               const EncryptionContext& context, std::uint32_t segment_size = kMinSegmentSize,
                                               unsigned threads = 1, const KeySection& section = sample_section()) {
  TempFile in(plain), out;
  DataKey key{dek.clone(), DekId{}, section};
  key.id[0] = 0x42;
  auto written = encrypt_stream(in.fd(), out.fd(), key, context, EncryptOptions{segment_size, threads});
  if (!written) ADD_FAILURE() << written.error().message;
  return out.contents();
}

inline Result<std::vector<std::uint8_t>> decrypt_bytes(const std::vector<std::uint8_t>& envelope, const SecretBytes& dek,
                                                       const EncryptionContext& context, unsigned threads = 1) {
  TempFile in(envelope), out;
  auto summary = decrypt_stream(in.fd(), out.fd(), context, [&](const ParsedPrefix&) { return Result<SecretBytes>(dek.clone()); },
                                threads);
  if (!summary) return std::unexpected(summary.error());
  return out.contents();
}

}  // namespace keyward::envelope::testing
