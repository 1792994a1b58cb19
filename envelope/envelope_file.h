// File-level helpers: decrypting into a file that appears only when everything verified.
#pragma once

#include <string>

#include "envelope/stream.h"

namespace keyward::envelope {

// Decrypts `in_path` ("-" = stdin) into `out_path` through a temporary file in the same directory
// (mode 0600), fsynced and renamed only after every segment and the commitment verified. On any
// failure the temporary file is removed and `out_path` is not created or changed.
Result<DecryptSummary> decrypt_file_atomically(const std::string& in_path, const std::string& out_path,
                                               const EncryptionContext& expected_context, const DekResolver& resolve_dek,
                                               unsigned threads = 1);

// Encrypts `in_path` ("-" = stdin) into `out_path` the same way: no half-written envelope is left.
Result<std::uint64_t> encrypt_file_atomically(const std::string& in_path, const std::string& out_path,
                                              const SecretBytes& dek, const DekId& dek_id, const KeySection& key_section,
                                              const EncryptionContext& context, const EncryptOptions& options);

}  // namespace keyward::envelope
