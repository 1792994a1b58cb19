// Destroyed-KEK records (hierarchy/destroyed_kek.h), read from CKO_DATA objects on the token by
// `verify`. Properties: never crashes; a record that parses holds exactly its JSON's values and
// survives to_json/from_json unchanged; a refused record is corrupt_input (never skipped).
#include <nlohmann/json.hpp>

#include <string>

#include "hierarchy/destroyed_kek.h"
#include "hierarchy/labels.h"
#include "tests/fuzz/fuzz_target.h"

using namespace keyward::hierarchy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = keyward::fuzz::text_of(data, size);
  auto record = DestroyedKek::from_json(text);
  if (!record) {
    FUZZ_CHECK(record.error().category == keyward::ErrorCategory::corrupt_input);
    return 0;
  }
  const auto j = nlohmann::json::parse(text);
  FUZZ_CHECK(j.at("version").get<std::uint64_t>() == record->kek_version);
  FUZZ_CHECK(j.at("destroyed_at").is_number_unsigned() && j.at("destroyed_at").get<std::uint64_t>() ==
                                                               static_cast<std::uint64_t>(record->destroyed_at));
  FUZZ_CHECK(record->destroyed_at >= 0);
  FUZZ_CHECK(validate_kek_family(record->kek_family).has_value());
  auto again = DestroyedKek::from_json(record->to_json());
  FUZZ_CHECK(again && again->to_json() == record->to_json());
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  std::vector<std::vector<std::uint8_t>> seeds;
  seeds.push_back(keyward::fuzz::bytes_of(DestroyedKek{"payments", 1, "0011223344556677", 1764547200}.to_json()));
  seeds.push_back(keyward::fuzz::bytes_of(DestroyedKek{"a-b_c", 4294967295u, "ffffffffffffffff", 0}.to_json()));
  return seeds;
}
