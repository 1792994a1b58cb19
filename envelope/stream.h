// Streaming envelope encryption and decryption (docs/FORMAT.md), constant memory for any size.
//
// Input and output are file descriptors so that files, pipes and stdin/stdout all work. Segments
// are processed in batches across a WorkerPool and written in order.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "envelope/data_key.h"
#include "envelope/format.h"
#include "base/error.h"
#include "base/secret_bytes.h"

namespace keyward::envelope {

struct EncryptOptions {
  std::uint32_t segment_size = kDefaultSegmentSize;
  unsigned threads = 1;
};

// Encrypts everything readable from `in_fd` to `out_fd` under `key` (its DEK seals the segments, its
// key section goes in the envelope). The library chooses the salt and nonce prefix. Returns the
// number of plaintext bytes.
Result<std::uint64_t> encrypt_stream(int in_fd, int out_fd, const DataKey& key, const EncryptionContext& context,
                                     const EncryptOptions& options = {});

// Gives the DEK for an envelope (the caller unwraps the key section's wrapped DEK in the HSM).
using DekResolver = std::function<Result<SecretBytes>(const ParsedPrefix& prefix)>;

struct DecryptSummary {
  ParsedPrefix prefix;
  std::uint64_t plaintext_bytes = 0;
};

// Decrypts `in_fd` to `out_fd`. The context must equal the envelope's exactly, and the key
// commitment is checked before any plaintext is produced. Each segment's plaintext is written only
// after its tag verified; a later failure (truncation, tampering) is still reported, so output is
// valid only if this returns success (write to a temporary file and rename, as decrypt_file does).
Result<DecryptSummary> decrypt_stream(int in_fd, int out_fd, const EncryptionContext& expected_context,
                                      const DekResolver& resolve_dek, unsigned threads = 1);

// Decrypts plaintext bytes [offset, offset+length) of a seekable envelope, reading only the
// segments that cover them.
Result<SecretBytes> decrypt_range(int fd, std::uint64_t offset, std::uint64_t length,
                                  const EncryptionContext& expected_context, const DekResolver& resolve_dek);

// Reads and parses the header and key area at the start of `fd` (pread; the offset is unchanged for
// seekable files).
Result<ParsedPrefix> read_prefix(int fd);

}  // namespace keyward::envelope
