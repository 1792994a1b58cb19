// Root backup share files: one per custodian, JSON, mode 0600 (docs/CEREMONY.md).
//
// Each file carries: format, root version, share index, threshold, total shares, the share-set ID
// (the same random ID in all N files of one split, so shares of another split are refused), the
// root's KCV, the share (hex, or sealed under the custodian's passphrase with scrypt + AES-256-GCM,
// the metadata as associated data) and a checksum (SHA-256 of the other fields) against corruption.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ceremony/secret_sharing.h"
#include "base/error.h"
#include "base/secret_bytes.h"

namespace keyward::ceremony {

struct ShareMetadata {
  std::uint32_t root_version = 0;
  std::uint8_t index = 0, threshold = 0, total = 0;
  std::string set_id;    // 32 hex characters
  std::string root_kcv;  // KW fingerprint of the root
};

struct ShareFile {
  ShareMetadata metadata;
  Share share;
  std::string source;  // file name, for messages
};

// Returns the passphrase for a sealed share (e.g. from a prompt naming the file).
using PassphraseProvider = std::function<Result<SecretBytes>(const std::string& source)>;

// The file's text. With a passphrase the share is sealed; without, it is stored in hex.
Result<std::string> encode_share_file(const ShareMetadata& metadata, const Share& share, const SecretBytes* passphrase);

// Parses and checks one file's text. Errors: corrupt_input naming `source` and the problem
// (checksum mismatch, missing field…); authentication for a wrong passphrase.
Result<ShareFile> decode_share_file(std::string_view text, const std::string& source,
                                    const PassphraseProvider& passphrase);

// Recombines the root material from share files: same set ID, root version and threshold, distinct
// indices, at least `threshold` of them. The caller checks the root KCV before importing.
Result<SecretBytes> recombine_share_files(const std::vector<ShareFile>& files);

// A random share-set ID (32 hex characters).
std::string new_share_set_id();

}  // namespace keyward::ceremony
