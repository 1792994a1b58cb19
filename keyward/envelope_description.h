// What an envelope file's header says, for tools and audits: no token, no key, no plaintext.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "keyward/encryption_context.h"
#include "keyward/error.h"
#include "keyward/export.h"
#include "keyward/key_info.h"

namespace keyward {

struct EnvelopeDescription {
  KeyInfo key;                       // under_older_kek_version is unknown without a token: false here
  std::uint32_t segment_size = 0;    // plaintext bytes per segment
  EncryptionContext context;         // as bound at encryption (not secret)
  unsigned active_slot = 0;          // which of the two key slots holds the current key section
  std::size_t wrapped_dek_bytes = 0;
  std::uint64_t header_bytes = 0;    // where the body starts
  std::uint64_t segments = 0;
  std::optional<std::uint64_t> plaintext_bytes;  // empty when the body is cut inside a segment's tag
  std::uint64_t file_bytes = 0;
};

// Reads and parses the header and key area of the envelope file at `path`. Thread-safe.
// Errors: io (cannot open or read), corrupt_input (not an envelope).
KEYWARD_API Result<EnvelopeDescription> describe_envelope(const std::string& path);

}  // namespace keyward
