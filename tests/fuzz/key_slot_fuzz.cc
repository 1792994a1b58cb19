// One key slot (envelope/format.h decode_slot), the part of an envelope rotation rewrites in place and
// no AEAD authenticates. Properties: never crashes; a slot that decodes re-encodes to the same 128
// bytes (no two slots decode to one section). Each input is tried as given and with its checksum
// repaired, so mutations reach the length and padding checks.
#include <algorithm>
#include <array>

#include "envelope/format.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/slot_checksum.h"

namespace {

using namespace keyward::envelope;

void check_slot(const std::array<std::uint8_t, kSlotBytes>& slot) {
  auto section = decode_slot(slot);
  if (!section) {
    FUZZ_CHECK(section.error().category == keyward::ErrorCategory::corrupt_input);
    return;
  }
  FUZZ_CHECK(!section->kek_family.empty() && section->kek_family.size() <= 63);
  FUZZ_CHECK(!section->wrapped_dek.empty() && section->wrapped_dek.size() <= 48);
  auto encoded = encode_slot(*section);
  FUZZ_CHECK(encoded && *encoded == slot);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::array<std::uint8_t, kSlotBytes> slot{};
  std::copy_n(data, std::min(size, kSlotBytes), slot.begin());
  check_slot(slot);
  keyward::fuzz::repair_slot_checksum(slot);
  check_slot(slot);
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  std::vector<std::vector<std::uint8_t>> seeds;
  for (const auto& section : {KeySection{"payments", 1, std::vector<std::uint8_t>(40, 7)},
                              KeySection{std::string(63, 'k'), 0xFFFFFFFF, std::vector<std::uint8_t>(48, 0xA5)},
                              KeySection{"a", 2, std::vector<std::uint8_t>(1, 1)}}) {
    auto slot = encode_slot(section);
    seeds.emplace_back(slot->begin(), slot->end());
  }
  return seeds;
}
