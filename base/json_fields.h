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

// An unsigned integer field no larger than `max` (the caller's width); nothing for a missing field,
// another type (a negative, a fraction, a string) or a larger value. nlohmann's get<std::uint8_t>()
// and get<std::uint32_t>() convert all of those silently: 258 became share index 2 (found by
// tests/fuzz/share_file_fuzz.cc and kek_blob_fuzz.cc).
inline std::optional<std::uint64_t> unsigned_field_at_most(const nlohmann::json& object, const char* name,
                                                           std::uint64_t max) {
  auto value = unsigned_field(object, name);
  if (!value || *value > max) return std::nullopt;
  return value;
}

}  // namespace keyward::hierarchy
