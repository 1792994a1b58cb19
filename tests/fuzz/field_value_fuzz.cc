// Field value parser: never crashes; a parsed value's header and body re-encode to the same text.
#include <cstdlib>

#include "tests/fuzz/fuzz_target.h"
#include <string>

#include "envelope/internal/base64url.h"
#include "envelope/field.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keyward::envelope;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_field(text);
  if (!parsed) return 0;
  std::vector<std::uint8_t> bytes = parsed->header;
  bytes.insert(bytes.end(), parsed->body.begin(), parsed->body.end());
  if (base64url_encode(bytes) != text) std::abort();
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  using namespace keyward;
  std::vector<std::vector<std::uint8_t>> seeds;
  auto key = envelope::FieldKey::derive(SecretBytes(32), envelope::DekId{});
  for (auto suite : {envelope::FieldSuite::randomized, envelope::FieldSuite::deterministic}) {
    auto text = key->encrypt(std::vector<std::uint8_t>{'h', 'i'}, suite, envelope::EncryptionContext{{"t", "u"}});
    seeds.emplace_back(text->begin(), text->end());
  }
  return seeds;
}
