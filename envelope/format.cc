#include "envelope/format.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace keyward::envelope {
namespace {

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
std::uint16_t get_u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t get_u32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}
template <std::size_t N>
void put_array(std::vector<std::uint8_t>& out, const std::array<std::uint8_t, N>& a) {
  out.insert(out.end(), a.begin(), a.end());
}

Error corrupt(const std::string& what) { return Error{ErrorCategory::corrupt_input, "envelope: " + what, std::nullopt}; }

// Slot checksum: the first 8 bytes of SHA-256 over the slot's first kSlotBytes-8 bytes.
std::array<std::uint8_t, 8> slot_checksum(std::span<const std::uint8_t> content) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(content.data(), content.size(), digest, &length, EVP_sha256(), nullptr);
  std::array<std::uint8_t, 8> out{};
  std::memcpy(out.data(), digest, out.size());
  return out;
}

}  // namespace

std::vector<std::uint8_t> encode_context(const EncryptionContext& context) {
  std::vector<std::uint8_t> out;
  put_u16(out, static_cast<std::uint16_t>(context.size()));
  for (const auto& [key, value] : context) {  // std::map: byte order of keys
    put_u16(out, static_cast<std::uint16_t>(key.size()));
    out.insert(out.end(), key.begin(), key.end());
    put_u32(out, static_cast<std::uint32_t>(value.size()));
    out.insert(out.end(), value.begin(), value.end());
  }
  return out;
}

Result<EncryptionContext> decode_context(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 2) return fail(corrupt("context too short"));
  EncryptionContext context;
  std::size_t at = 2;
  const std::uint16_t count = get_u16(bytes.data());
  std::string previous;
  for (std::uint16_t i = 0; i < count; ++i) {
    if (at + 2 > bytes.size()) return fail(corrupt("context truncated"));
    const std::size_t key_length = get_u16(bytes.data() + at);
    at += 2;
    if (key_length == 0) return fail(corrupt("empty context key"));
    if (at + key_length + 4 > bytes.size()) return fail(corrupt("context truncated"));
    std::string key(reinterpret_cast<const char*>(bytes.data() + at), key_length);
    at += key_length;
    const std::size_t value_length = get_u32(bytes.data() + at);
    at += 4;
    if (at + value_length > bytes.size()) return fail(corrupt("context truncated"));
    // Canonical form only: keys strictly increasing, so one context has one encoding.
    if (i > 0 && key <= previous) return fail(corrupt("context keys not in canonical order"));
    previous = key;
    context.emplace(std::move(key), std::string(reinterpret_cast<const char*>(bytes.data() + at), value_length));
    at += value_length;
  }
  if (at != bytes.size()) return fail(corrupt("trailing bytes after the context"));
  return context;
}

Status validate_context(const EncryptionContext& context) {
  if (context.size() > UINT16_MAX) return make_error(ErrorCategory::usage, "too many encryption context pairs");
  for (const auto& [key, value] : context) {
    if (key.empty()) return make_error(ErrorCategory::usage, "an encryption context key may not be empty");
    if (key.size() > UINT16_MAX || value.size() > UINT32_MAX)
      return make_error(ErrorCategory::usage, "an encryption context key or value is too long");
  }
  return {};
}

std::vector<std::uint8_t> encode_header(const Header& header) {
  std::vector<std::uint8_t> out(kMagic.begin(), kMagic.end());
  out.push_back(kFormatVersion);
  out.push_back(header.suite);
  out.push_back(header.flags);
  put_u32(out, header.segment_size);
  put_array(out, header.dek_id);
  put_array(out, header.salt);
  put_array(out, header.nonce_prefix);
  put_array(out, header.commitment);
  auto context = encode_context(header.context);
  put_u32(out, static_cast<std::uint32_t>(context.size()));
  out.insert(out.end(), context.begin(), context.end());
  return out;
}

Result<std::array<std::uint8_t, kSlotBytes>> encode_slot(const KeySection& section) {
  if (section.kek_family.empty() || section.kek_family.size() > 63)
    return make_error(ErrorCategory::usage, "KEK family name must be 1-63 bytes");
  if (section.wrapped_dek.empty() || section.wrapped_dek.size() > 48)
    return make_error(ErrorCategory::usage, "wrapped DEK must be 1-48 bytes");
  std::vector<std::uint8_t> content;
  content.push_back(1);  // present
  content.push_back(static_cast<std::uint8_t>(section.kek_family.size()));
  content.insert(content.end(), section.kek_family.begin(), section.kek_family.end());
  put_u32(content, section.kek_version);
  content.push_back(static_cast<std::uint8_t>(section.wrapped_dek.size()));
  content.insert(content.end(), section.wrapped_dek.begin(), section.wrapped_dek.end());
  content.resize(kSlotBytes - 8, 0);
  auto checksum = slot_checksum(content);
  std::array<std::uint8_t, kSlotBytes> slot{};
  std::copy(content.begin(), content.end(), slot.begin());
  std::copy(checksum.begin(), checksum.end(), slot.begin() + (kSlotBytes - 8));
  return slot;
}

Result<KeySection> decode_slot(std::span<const std::uint8_t, kSlotBytes> slot) {
  auto checksum = slot_checksum(slot.first(kSlotBytes - 8));
  if (!std::equal(checksum.begin(), checksum.end(), slot.begin() + (kSlotBytes - 8)))
    return fail(corrupt("key section checksum mismatch (torn or altered key slot)"));
  if (slot[0] != 1) return fail(corrupt("the active key slot is empty"));
  KeySection section;
  std::size_t at = 1;
  const std::size_t family_length = slot[at++];
  if (family_length == 0 || family_length > 63) return fail(corrupt("bad KEK family length"));
  section.kek_family.assign(reinterpret_cast<const char*>(slot.data() + at), family_length);
  at += family_length;
  section.kek_version = get_u32(slot.data() + at);
  at += 4;
  const std::size_t wrapped_length = slot[at++];
  if (wrapped_length == 0 || wrapped_length > 48 || at + wrapped_length > kSlotBytes - 8)
    return fail(corrupt("bad wrapped DEK length"));
  section.wrapped_dek.assign(slot.begin() + static_cast<long>(at), slot.begin() + static_cast<long>(at + wrapped_length));
  at += wrapped_length;
  if (std::any_of(slot.begin() + static_cast<long>(at), slot.begin() + (kSlotBytes - 8), [](auto b) { return b != 0; }))
    return fail(corrupt("non-zero padding in the key slot"));
  return section;
}

Result<std::vector<std::uint8_t>> encode_key_area(const KeySection& active) {
  KW_ASSIGN_OR_RETURN(auto slot, encode_slot(active));
  std::vector<std::uint8_t> area(kKeyAreaBytes, 0);
  area[0] = 0;  // slot 0 active; slot 1 empty (all zero)
  std::copy(slot.begin(), slot.end(), area.begin() + 1);
  return area;
}

Result<ParsedPrefix> parse_prefix(std::span<const std::uint8_t> bytes, std::size_t* out_needed) {
  auto too_short = [&](std::size_t needed) -> Result<ParsedPrefix> {
    if (out_needed) *out_needed = needed;
    return make_error(ErrorCategory::usage, "envelope prefix needs " + std::to_string(needed) + " bytes");
  };
  if (bytes.size() < kFixedHeaderBytes) {
    if (bytes.size() >= kMagic.size() && !std::equal(kMagic.begin(), kMagic.end(), bytes.begin()))
      return fail(corrupt("not a keyward envelope (bad magic)"));
    return too_short(kFixedHeaderBytes);
  }
  if (!std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) return fail(corrupt("not a keyward envelope (bad magic)"));
  if (bytes[5] != kFormatVersion) return fail(corrupt("unsupported envelope version " + std::to_string(bytes[5])));
  ParsedPrefix parsed;
  Header& h = parsed.header;
  const std::uint8_t* p = bytes.data() + 6;
  h.suite = *p++;
  if (h.suite != kSuiteAes256GcmHkdfSha256) return fail(corrupt("unknown suite " + std::to_string(h.suite)));
  h.flags = *p++;
  if (h.flags != 0) return fail(corrupt("unknown flags"));
  h.segment_size = get_u32(p);
  p += 4;
  if (h.segment_size < kMinSegmentSize || h.segment_size > kMaxSegmentSize) return fail(corrupt("segment size out of range"));
  std::memcpy(h.dek_id.data(), p, kDekIdBytes);
  p += kDekIdBytes;
  std::memcpy(h.salt.data(), p, kSaltBytes);
  p += kSaltBytes;
  std::memcpy(h.nonce_prefix.data(), p, kNoncePrefixBytes);
  p += kNoncePrefixBytes;
  std::memcpy(h.commitment.data(), p, kCommitmentBytes);
  p += kCommitmentBytes;
  const std::size_t context_length = get_u32(p);
  if (context_length > kMaxContextBytes) return fail(corrupt("encryption context too large"));
  parsed.header_bytes = kFixedHeaderBytes + context_length;
  if (bytes.size() < parsed.body_offset()) return too_short(parsed.body_offset());
  KW_ASSIGN_OR_RETURN(h.context, decode_context(bytes.subspan(kFixedHeaderBytes, context_length)));
  const std::uint8_t* area = bytes.data() + parsed.header_bytes;
  parsed.active_slot = area[0];
  if (parsed.active_slot > 1) return fail(corrupt("key slot switch byte is neither 0 nor 1"));
  std::span<const std::uint8_t, kSlotBytes> slot(area + 1 + parsed.active_slot * kSlotBytes, kSlotBytes);
  KW_ASSIGN_OR_RETURN(parsed.key_section, decode_slot(slot));
  return parsed;
}

std::string dek_id_hex(const DekId& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (auto b : id) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

}  // namespace keyward::envelope
