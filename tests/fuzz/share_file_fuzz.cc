// Root backup share files (ceremony/backup_share.h), read by `keyward-ceremony recover`. Each input
// is tried as given and with its checksum recomputed (the checksum detects damage, not an attacker),
// so mutations reach the field checks. Sealed shares get the passphrase only when their scrypt cost is
// small (the harness's limit, to keep runs fast; the bounds themselves are checked either way).
// Properties: never crashes; a refused file is corrupt_input, authentication or usage; a file that
// decodes holds exactly the values its JSON holds (no number truncated to 8 or 32 bits — the sealed
// share's associated data is built from them) and re-encodes to a file that decodes the same.
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <string>

#include "ceremony/backup_share.h"
#include "hierarchy/kek_blob.h"
#include "tests/fuzz/fuzz_target.h"

using namespace keyward;

namespace {

bool holds_unsigned(const nlohmann::json& j, const char* name, std::uint64_t value) {
  auto it = j.find(name);
  return it != j.end() && it->is_number_unsigned() && it->get<std::uint64_t>() == value;
}

SecretBytes fixture_passphrase() { return SecretBytes::copy_of(fuzz::bytes_of("correct horse battery")); }

bool cheap_to_open(const nlohmann::json& j) {
  auto sealed = j.find("sealed");
  if (sealed == j.end() || !sealed->is_object()) return true;
  for (auto [name, limit] : {std::pair{"n", 2048u}, std::pair{"r", 8u}, std::pair{"p", 1u}}) {
    auto it = sealed->find(name);
    if (it != sealed->end() && (!it->is_number_unsigned() || it->get<std::uint64_t>() > limit)) return false;
  }
  return true;
}

void check(const std::string& text, const nlohmann::json& j) {
  const bool cheap = j.is_object() && cheap_to_open(j);
  auto parsed = ceremony::decode_share_file(text, "fuzz.share", [cheap](const std::string&) -> Result<SecretBytes> {
    if (!cheap) return make_error(ErrorCategory::usage, "the harness withholds the passphrase of a costly share");
    return fixture_passphrase();
  });
  if (!parsed) {
    const auto category = parsed.error().category;
    FUZZ_CHECK(category == ErrorCategory::corrupt_input || category == ErrorCategory::authentication ||
               category == ErrorCategory::usage);
    return;
  }
  const auto& m = parsed->metadata;
  FUZZ_CHECK(holds_unsigned(j, "root_version", m.root_version) && holds_unsigned(j, "index", m.index) &&
             holds_unsigned(j, "threshold", m.threshold) && holds_unsigned(j, "total", m.total));
  FUZZ_CHECK(m.index >= 1 && m.index <= m.total && m.threshold >= 2 && m.threshold <= m.total);
  FUZZ_CHECK(parsed->share.index == m.index && parsed->share.value.size() == 32);
  auto encoded = ceremony::encode_share_file(m, parsed->share, nullptr);
  FUZZ_CHECK(encoded.has_value());
  auto again = ceremony::decode_share_file(*encoded, "again", nullptr);
  FUZZ_CHECK(again && again->metadata.set_id == m.set_id && again->metadata.root_kcv == m.root_kcv &&
             again->metadata.index == m.index && again->metadata.threshold == m.threshold &&
             again->metadata.total == m.total && again->metadata.root_version == m.root_version &&
             again->share.value.equals(parsed->share.value));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(fuzz::text_of(data, size));
  auto j = nlohmann::json::parse(text, nullptr, false);
  check(text, j);
  if (!j.is_object()) return 0;
  // The checksum as the format defines it: the first 16 hex digits of SHA-256 over the compact JSON
  // without "checksum".
  j.erase("checksum");
  const std::string without = j.dump();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(without.data(), without.size(), digest, &length, EVP_sha256(), nullptr);
  j["checksum"] = hierarchy::to_hex(std::span<const std::uint8_t>(digest, 8));
  check(j.dump(), j);
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  std::vector<std::vector<std::uint8_t>> seeds;
  std::vector<std::uint8_t> value(32);
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<std::uint8_t>(i * 7 + 1);
  ceremony::ShareMetadata metadata{1, 2, 2, 3, "00112233445566778899aabbccddeeff", "0011223344556677"};
  ceremony::Share share{2, SecretBytes::copy_of(value)};
  if (auto plain = ceremony::encode_share_file(metadata, share, nullptr)) seeds.push_back(fuzz::bytes_of(*plain));
  const auto passphrase = fixture_passphrase();
  if (auto sealed = ceremony::encode_share_file(metadata, share, &passphrase)) seeds.push_back(fuzz::bytes_of(*sealed));
  return seeds;
}
