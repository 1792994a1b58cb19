// Object envelope format v1 (docs/FORMAT.md): the header, the encryption context and the key
// section with its two slots. Pure byte layout: no keys, no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace keyward::envelope {

inline constexpr std::array<std::uint8_t, 5> kMagic = {'K', 'W', 'E', 'N', 'V'};
inline constexpr std::uint8_t kFormatVersion = 1;
inline constexpr std::uint8_t kSuiteAes256GcmHkdfSha256 = 1;
inline constexpr std::size_t kDekIdBytes = 16, kSaltBytes = 32, kNoncePrefixBytes = 7, kCommitmentBytes = 32;
inline constexpr std::size_t kTagBytes = 16;
inline constexpr std::size_t kFixedHeaderBytes = 6 + 1 + 1 + 4 + kDekIdBytes + kSaltBytes + kNoncePrefixBytes + kCommitmentBytes + 4;
inline constexpr std::size_t kSlotBytes = 128;
inline constexpr std::size_t kKeyAreaBytes = 1 + 2 * kSlotBytes;  // switch byte + two slots
inline constexpr std::uint32_t kMinSegmentSize = 4 * 1024, kMaxSegmentSize = 16 * 1024 * 1024;
inline constexpr std::uint32_t kDefaultSegmentSize = 1024 * 1024;
inline constexpr std::size_t kMaxContextBytes = 64 * 1024;

using DekId = std::array<std::uint8_t, kDekIdBytes>;

// key=value pairs bound to the ciphertext. Canonical encoding: u16 count, then for each pair in
// byte order of the key: u16 key length, key, u32 value length, value.
using EncryptionContext = std::map<std::string, std::string>;
// Keys are 1..65535 bytes (an empty key is invalid), values at most 2^32-1 bytes. Encoders call
// validate_context first (errors: usage); decode_context rejects an empty key as corrupt_input.
Status validate_context(const EncryptionContext& context);
std::vector<std::uint8_t> encode_context(const EncryptionContext& context);
Result<EncryptionContext> decode_context(std::span<const std::uint8_t> bytes);

// The replaceable part: which KEK version wraps the DEK, and the wrapped DEK. Not authenticated by
// the AEAD (so rotation can replace it); the key commitment catches a foreign one.
struct KeySection {
  std::string kek_family;
  std::uint32_t kek_version = 0;
  std::vector<std::uint8_t> wrapped_dek;
  bool operator==(const KeySection&) const = default;
};

struct Header {
  std::uint8_t suite = kSuiteAes256GcmHkdfSha256;
  std::uint8_t flags = 0;
  std::uint32_t segment_size = kDefaultSegmentSize;
  DekId dek_id{};
  std::array<std::uint8_t, kSaltBytes> salt{};
  std::array<std::uint8_t, kNoncePrefixBytes> nonce_prefix{};
  std::array<std::uint8_t, kCommitmentBytes> commitment{};
  EncryptionContext context;
};

// The authenticated header bytes (magic … context).
std::vector<std::uint8_t> encode_header(const Header& header);

// One key slot (exactly kSlotBytes) and the whole key area (switch byte + two slots).
Result<std::array<std::uint8_t, kSlotBytes>> encode_slot(const KeySection& section);
Result<KeySection> decode_slot(std::span<const std::uint8_t, kSlotBytes> slot);
Result<std::vector<std::uint8_t>> encode_key_area(const KeySection& active);

struct ParsedPrefix {
  Header header;
  std::size_t header_bytes = 0;    // authenticated header length (offset of the key area)
  std::uint8_t active_slot = 0;
  KeySection key_section;          // the active slot's
  std::size_t body_offset() const { return header_bytes + kKeyAreaBytes; }
};

// Parses the header and key area from the first bytes of an envelope. Errors: corrupt_input, or
// usage if `bytes` is too short (`out_needed` says how many bytes to read).
Result<ParsedPrefix> parse_prefix(std::span<const std::uint8_t> bytes, std::size_t* out_needed = nullptr);

std::string dek_id_hex(const DekId& id);

}  // namespace keyward::envelope
