// KEK blob parser: never crashes; what parses re-parses from its own serialisation to the same blob.
#include <cstdlib>

#include "tests/fuzz/fuzz_target.h"
#include <string>

#include "hierarchy/kek_blob.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keyward::hierarchy;
  auto blob = KekBlob::from_json(std::string(reinterpret_cast<const char*>(data), size));
  if (!blob) return 0;
  auto again = KekBlob::from_json(blob->to_json());
  if (!again || again->wrapped != blob->wrapped || again->kek_family != blob->kek_family) std::abort();
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  keyward::hierarchy::KekBlob blob{"payments", 2, 1, "0011223344556677", "8899aabbccddeeff", std::vector<std::uint8_t>(40, 9)};
  auto text = blob.to_json();
  return {std::vector<std::uint8_t>(text.begin(), text.end())};
}
