// Field encryption end to end with fuzzed plaintext and context, both suites and versions.
// Input: flags byte (bit 0: suite, bit 1: version), then context key, value and plaintext separated
// by 0 bytes. Properties: encrypt → parse → decrypt gives the plaintext back; the deterministic suite
// gives the same text twice; another context or another scope's key fails authentication; blind
// indexes are stable; a context with an empty key and an over-long value are refused, not encrypted.
#include <string>

#include "envelope/field.h"
#include "tests/fuzz/field_key_fixture.h"
#include "tests/fuzz/fuzz_target.h"

using namespace keyward;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto suite = data[0] & 1 ? envelope::FieldSuite::deterministic : envelope::FieldSuite::randomized;
  const std::uint8_t version = data[0] & 2 ? envelope::kFieldVersionUnscoped : envelope::kFieldVersion;
  auto parts = fuzz::split_at_zero(fuzz::text_of(data + 1, size - 1));
  while (parts.size() < 3) parts.emplace_back();
  envelope::EncryptionContext context{{parts[0], parts[1]}};
  const auto plain = fuzz::bytes_of(parts[2]);

  const auto& key = fuzz::fixture_field_key();
  auto text = key.encrypt(plain, suite, context, version);
  if (plain.size() > envelope::kMaxFieldValueBytes) {
    FUZZ_CHECK(!text && text.error().category == ErrorCategory::policy);
    return 0;
  }
  if (parts[0].empty()) {
    FUZZ_CHECK(!text && text.error().category == ErrorCategory::usage);
    return 0;
  }
  FUZZ_CHECK(text.has_value());
  auto parsed = envelope::parse_field(*text);
  FUZZ_CHECK(parsed && parsed->suite == suite && parsed->version == version && parsed->dek_id == key.dek_id());
  auto decrypted = key.decrypt(*parsed, context);
  FUZZ_CHECK(decrypted && decrypted->reveal().size() == plain.size() &&
             std::equal(plain.begin(), plain.end(), decrypted->reveal().begin()));
  if (suite == envelope::FieldSuite::deterministic) {
    auto again = key.encrypt(plain, suite, context, version);
    FUZZ_CHECK(again && *again == *text);
  }

  auto other_context = context;
  other_context[parts[0]] += "'";
  auto wrong = key.decrypt(*parsed, other_context);
  FUZZ_CHECK(!wrong && wrong.error().category == ErrorCategory::authentication);
  if (version == envelope::kFieldVersion) {
    // The same DEK derived for another scope: version 2 binds the scope.
    static const auto other_scope = envelope::FieldKey::derive(
        SecretBytes::copy_of(std::vector<std::uint8_t>(32, 0x42)), key.dek_id(), "tenant-8");
    auto foreign = other_scope->decrypt(*parsed, context);
    FUZZ_CHECK(!foreign && foreign.error().category == ErrorCategory::authentication);
  }
  auto index = key.blind_index(plain, context, 4 + data[0] % 29);
  auto index_again = key.blind_index(plain, context, 4 + data[0] % 29);
  FUZZ_CHECK(index && index_again && *index == *index_again);
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  std::vector<std::vector<std::uint8_t>> seeds;
  for (std::uint8_t flags = 0; flags < 4; ++flags) {
    std::vector<std::uint8_t> seed{flags};
    for (std::string_view part : {std::string_view("tenant"), std::string_view("\0", 1), std::string_view("acme"),
                                  std::string_view("\0", 1), std::string_view("4111 1111 1111 1111")})
      seed.insert(seed.end(), part.begin(), part.end());
    seeds.push_back(seed);
  }
  return seeds;
}
