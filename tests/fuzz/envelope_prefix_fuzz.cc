// Envelope header + key area (envelope/format.h parse_prefix). Properties: never crashes; what parses
// re-encodes to the same header and active-slot bytes; the inactive slot, when it decodes, re-encodes
// too; any shorter prefix asks for more bytes (usage, out_needed) instead of parsing. Each input is
// tried as given and with the active slot's checksum repaired, so mutations reach the slot's fields.
#include <algorithm>
#include <string>

#include "envelope/format.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/slot_checksum.h"

namespace {

using namespace keyward::envelope;

void check_prefix(std::span<const std::uint8_t> bytes) {
  auto parsed = parse_prefix(bytes);
  if (!parsed) return;
  const auto header = encode_header(parsed->header);
  FUZZ_CHECK(header.size() == parsed->header_bytes);
  FUZZ_CHECK(std::equal(header.begin(), header.end(), bytes.begin()));
  const std::uint8_t* area = bytes.data() + parsed->header_bytes;
  FUZZ_CHECK(area[0] == parsed->active_slot);
  for (std::uint8_t slot = 0; slot < 2; ++slot) {
    std::span<const std::uint8_t, kSlotBytes> stored(area + 1 + slot * kSlotBytes, kSlotBytes);
    auto section = decode_slot(stored);
    if (slot == parsed->active_slot) FUZZ_CHECK(section && *section == parsed->key_section);
    if (!section) continue;
    auto encoded = encode_slot(*section);
    FUZZ_CHECK(encoded && std::equal(encoded->begin(), encoded->end(), stored.begin()));
  }
  std::size_t needed = 0;
  auto cut = parse_prefix(bytes.first(parsed->body_offset() - 1), &needed);
  FUZZ_CHECK(!cut && cut.error().category == keyward::ErrorCategory::usage);
  FUZZ_CHECK(needed > parsed->body_offset() - 1 && needed <= parsed->body_offset());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> bytes(data, data + size);
  check_prefix(bytes);
  if (size < kFixedHeaderBytes) return 0;
  // Where the active slot would be: after the context (its u32 length ends the fixed header).
  const std::size_t context_length = std::size_t{bytes[kFixedHeaderBytes - 4]} << 24 | std::size_t{bytes[kFixedHeaderBytes - 3]} << 16 |
                                     std::size_t{bytes[kFixedHeaderBytes - 2]} << 8 | bytes[kFixedHeaderBytes - 1];
  const std::size_t area = kFixedHeaderBytes + context_length;
  if (context_length > kMaxContextBytes || area + kKeyAreaBytes > size || bytes[area] > 1) return 0;
  keyward::fuzz::repair_slot_checksum(std::span<std::uint8_t, kSlotBytes>(bytes.data() + area + 1 + bytes[area] * kSlotBytes, kSlotBytes));
  check_prefix(bytes);
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  std::vector<std::vector<std::uint8_t>> seeds;
  for (const auto& context : {EncryptionContext{}, EncryptionContext{{"tenant", "acme"}, {"table", "users"}}}) {
    Header header;
    header.context = context;
    header.segment_size = kMinSegmentSize;
    header.dek_id.fill(0x11);
    auto bytes = encode_header(header);
    auto area = encode_key_area(KeySection{"payments", 3, std::vector<std::uint8_t>(40, 7)});
    bytes.insert(bytes.end(), area->begin(), area->end());
    seeds.push_back(bytes);
    // After a rotation: slot 1 active, slot 0 holding the previous section.
    auto next = encode_slot(KeySection{"payments", 4, std::vector<std::uint8_t>(40, 8)});
    std::copy(next->begin(), next->end(), bytes.end() - kSlotBytes);
    bytes[bytes.size() - kKeyAreaBytes] = 1;
    seeds.push_back(bytes);
  }
  return seeds;
}
