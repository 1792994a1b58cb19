// Field value text (envelope/field.h parse_field), then FieldKey::decrypt with a fixed key, both
// suites, both versions. Properties: never crashes; what parses re-encodes to the same text; a value
// that decrypts is one the key made — the deterministic suite re-encrypts it to the same text, the
// randomized one to a text that decrypts to the same plaintext; a value that does not decrypt fails
// with an authentication or usage error, never another kind.
#include <string>

#include "envelope/field.h"
#include "envelope/internal/base64url.h"
#include "tests/fuzz/field_key_fixture.h"
#include "tests/fuzz/fuzz_target.h"

using namespace keyward;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::text_of(data, size);
  auto parsed = envelope::parse_field(text);
  if (!parsed) {
    FUZZ_CHECK(parsed.error().category == ErrorCategory::corrupt_input);
    return 0;
  }
  std::vector<std::uint8_t> bytes = parsed->header;
  bytes.insert(bytes.end(), parsed->body.begin(), parsed->body.end());
  FUZZ_CHECK(envelope::base64url_encode(bytes) == text);

  const auto& key = fuzz::fixture_field_key();
  auto plain = key.decrypt(*parsed, fuzz::fixture_context());
  if (!plain) {
    const auto category = plain.error().category;
    FUZZ_CHECK(category == ErrorCategory::authentication || category == ErrorCategory::usage);
    return 0;
  }
  FUZZ_CHECK(plain->size() <= envelope::kMaxFieldValueBytes);
  auto again = key.encrypt(plain->reveal(), parsed->suite, fuzz::fixture_context(), parsed->version);
  FUZZ_CHECK(again.has_value());
  if (parsed->suite == envelope::FieldSuite::deterministic) FUZZ_CHECK(*again == text);
  auto reparsed = envelope::parse_field(*again);
  FUZZ_CHECK(reparsed.has_value());
  auto replain = key.decrypt(*reparsed, fuzz::fixture_context());
  FUZZ_CHECK(replain && replain->equals(*plain));
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  std::vector<std::vector<std::uint8_t>> seeds;
  const auto& key = fuzz::fixture_field_key();
  const std::vector<std::uint8_t> values[] = {{}, fuzz::bytes_of("alice@example.com"), std::vector<std::uint8_t>(300, 'x')};
  for (auto suite : {envelope::FieldSuite::randomized, envelope::FieldSuite::deterministic}) {
    for (auto version : {envelope::kFieldVersionUnscoped, envelope::kFieldVersion}) {
      for (const auto& value : values) {
        auto text = key.encrypt(value, suite, fuzz::fixture_context(), version);
        if (text) seeds.push_back(fuzz::bytes_of(*text));
      }
    }
  }
  return seeds;
}
