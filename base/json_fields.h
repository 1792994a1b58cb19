// Reading fields of untrusted JSON without exceptions: nlohmann's value() throws when a field exists
// with another type (found by tests/fuzz/kek_blob_fuzz.cc), so parsers of files use these instead.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace keyward::hierarchy {

inline std::string string_field(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline std::optional<std::uint64_t> unsigned_field(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<std::uint64_t>();
}

}  // namespace keyward::hierarchy
