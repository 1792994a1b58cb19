// File-level encryption and decryption: OUT appears complete and verified, or not at all.
#pragma once

#include <string>

#include "base/output_file.h"
#include "envelope/stream.h"

namespace keyward::envelope {

// Decrypts `in_path` ("-" = stdin) into `out_path` (see OutputFile: a regular OUT is written to an
// unnamed temporary in its directory, mode 0600, and linked into place only after every segment
// and the commitment verified; on any failure, signal or kill nothing is left and an existing OUT
// is unchanged). `out_path` "-", a FIFO or a character device receive each segment once verified:
// valid only if this returns success. An existing regular OUT is refused unless
// output.replace_existing.
Result<DecryptSummary> decrypt_file_atomically(const std::string& in_path, const std::string& out_path,
                                               const EncryptionContext& expected_context, const DekResolver& resolve_dek,
                                               unsigned threads = 1, const OutputOptions& output = {});

// Encrypts `in_path` ("-" = stdin) into `out_path` the same way: no half-written envelope is left.
Result<std::uint64_t> encrypt_file_atomically(const std::string& in_path, const std::string& out_path,
                                              const DataKey& key, const EncryptionContext& context, const EncryptOptions& options,
                                              const OutputOptions& output = {});

}  // namespace keyward::envelope
