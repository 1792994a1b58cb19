// Envelope header + key area parser: never crashes; what parses re-encodes to the same bytes.
#include <cstdlib>

#include "tests/fuzz/fuzz_target.h"
#include <vector>

#include "envelope/format.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keyward::envelope;
  auto parsed = parse_prefix({data, size});
  if (!parsed) return 0;
  auto header = encode_header(parsed->header);
  if (header.size() != parsed->header_bytes || !std::equal(header.begin(), header.end(), data)) std::abort();
  auto slot = encode_slot(parsed->key_section);
  const std::uint8_t* active = data + parsed->header_bytes + 1 + parsed->active_slot * kSlotBytes;
  if (!slot || !std::equal(slot->begin(), slot->end(), active)) std::abort();
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  using namespace keyward::envelope;
  Header header;
  header.context = {{"tenant", "acme"}, {"table", "users"}};
  auto bytes = encode_header(header);
  auto area = encode_key_area(KeySection{"payments", 3, std::vector<std::uint8_t>(40, 7)});
  bytes.insert(bytes.end(), area->begin(), area->end());
  return {bytes};
}
