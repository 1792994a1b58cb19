// KEK blob files (hierarchy/kek_blob.h), read by `kek import` and from the token's blob objects.
// Properties: never crashes; a blob that parses carries exactly the values its JSON holds (no number
// silently truncated to 32 bits, no field of another type converted) and survives to_json/from_json
// unchanged; hex decoding round-trips.
#include <nlohmann/json.hpp>

#include <cctype>
#include <string>

#include "hierarchy/kek_blob.h"
#include "tests/fuzz/fuzz_target.h"

using namespace keyward::hierarchy;

namespace {

bool holds_unsigned(const nlohmann::json& j, const char* name, std::uint64_t value) {
  auto it = j.find(name);
  return it != j.end() && it->is_number_unsigned() && it->get<std::uint64_t>() == value;
}

bool holds_string(const nlohmann::json& j, const char* name, const std::string& value) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() && it->get<std::string>() == value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = keyward::fuzz::text_of(data, size);
  if (auto bytes = from_hex(text)) {
    std::string lower(text);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    FUZZ_CHECK(to_hex(*bytes) == lower);
  }
  auto blob = KekBlob::from_json(text);
  if (!blob) {
    FUZZ_CHECK(blob.error().category == keyward::ErrorCategory::corrupt_input ||
               blob.error().category == keyward::ErrorCategory::usage);
    return 0;
  }
  const auto j = nlohmann::json::parse(text);
  FUZZ_CHECK(holds_unsigned(j, "version", blob->kek_version));
  FUZZ_CHECK(holds_unsigned(j, "root_version", blob->root_version));
  FUZZ_CHECK(holds_string(j, "kek", blob->kek_family));
  FUZZ_CHECK(holds_string(j, "root_kcv", blob->root_kcv) && holds_string(j, "kek_kcv", blob->kek_kcv));
  auto again = KekBlob::from_json(blob->to_json());
  FUZZ_CHECK(again && again->to_json() == blob->to_json());
  FUZZ_CHECK(again->wrapped == blob->wrapped && again->kek_family == blob->kek_family &&
             again->kek_version == blob->kek_version && again->root_version == blob->root_version &&
             again->root_kcv == blob->root_kcv && again->kek_kcv == blob->kek_kcv);
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  std::vector<std::vector<std::uint8_t>> seeds;
  KekBlob blob{"payments", 2, 1, "0011223344556677", "8899aabbccddeeff", std::vector<std::uint8_t>(40, 9)};
  seeds.push_back(keyward::fuzz::bytes_of(blob.to_json()));
  blob = KekBlob{"k-9_z", 4294967295u, 7, "a1b2c3d4e5f60718", "ffeeddccbbaa9988", std::vector<std::uint8_t>(40, 0xC3)};
  seeds.push_back(keyward::fuzz::bytes_of(blob.to_json()));
  return seeds;
}
