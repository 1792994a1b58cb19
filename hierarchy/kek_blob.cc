#include "hierarchy/kek_blob.h"

#include <nlohmann/json.hpp>

#include <cstdint>

#include "hierarchy/labels.h"
#include "base/json_fields.h"

namespace keyward::hierarchy {

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

Result<std::vector<std::uint8_t>> from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return make_error(ErrorCategory::corrupt_input, "hex text has an odd length");
  std::vector<std::uint8_t> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return make_error(ErrorCategory::corrupt_input, "hex text has a non-hex character");
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string KekBlob::to_json() const {
  nlohmann::ordered_json j;
  j["format"] = "keyward-kek-blob/v1";
  j["kek"] = kek_family;
  j["version"] = kek_version;
  j["root_version"] = root_version;
  j["root_kcv"] = root_kcv;
  j["kek_kcv"] = kek_kcv;
  j["mechanism"] = "CKM_AES_KEY_WRAP";
  j["wrapped"] = to_hex(wrapped);
  return j.dump(2) + "\n";
}

Result<KekBlob> KekBlob::from_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(ErrorCategory::corrupt_input, "KEK blob is not JSON");
  if (string_field(j, "format") != "keyward-kek-blob/v1")
    return make_error(ErrorCategory::corrupt_input, "not a keyward KEK blob (format keyward-kek-blob/v1 expected)");
  try {
    KekBlob blob;
    blob.kek_family = j.at("kek").get<std::string>();
    const auto version = unsigned_field_at_most(j, "version", UINT32_MAX);
    const auto root_version = unsigned_field_at_most(j, "root_version", UINT32_MAX);
    if (!version || !root_version)
      return make_error(ErrorCategory::corrupt_input, "KEK blob's version or root_version is not a 32-bit unsigned integer");
    blob.kek_version = static_cast<std::uint32_t>(*version);
    blob.root_version = static_cast<std::uint32_t>(*root_version);
    blob.root_kcv = j.at("root_kcv").get<std::string>();
    blob.kek_kcv = j.at("kek_kcv").get<std::string>();
    KW_ASSIGN_OR_RETURN(blob.wrapped, from_hex(j.at("wrapped").get<std::string>()));
    KW_TRY(validate_kek_family(blob.kek_family));
    if (blob.kek_version == 0 || blob.root_version == 0 || blob.wrapped.size() != 40)
      return make_error(ErrorCategory::corrupt_input, "KEK blob has an invalid version or wrapped length");
    return blob;
  } catch (const nlohmann::json::exception&) {
    return make_error(ErrorCategory::corrupt_input, "KEK blob lacks a field or has a field of the wrong type");
  }
}

}  // namespace keyward::hierarchy
