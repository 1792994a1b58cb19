// Encryption contexts: `--context k=v` as the keyward tool parses it (tools/keyward/context_option.h)
// and the canonical binary encoding in envelope headers and field associated data
// (envelope/format.h decode_context). Input: the arguments, separated by 0 bytes; the same bytes are
// also decoded as a binary context. Properties: every parsed pair is in the context under the text
// before its first '='; a refused list is a usage error; a parsed context encodes and decodes back to
// itself; a binary context that decodes re-encodes to the same bytes.
#include <string>

#include "envelope/format.h"
#include "tests/fuzz/fuzz_target.h"
#include "tools/keyward/context_option.h"

using namespace keyward;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = envelope::decode_context({data, size});
  if (decoded) {
    const auto encoded = envelope::encode_context(*decoded);
    FUZZ_CHECK(encoded.size() == size && std::equal(encoded.begin(), encoded.end(), data));
    FUZZ_CHECK(envelope::validate_context(*decoded).has_value());
  } else {
    FUZZ_CHECK(decoded.error().category == ErrorCategory::corrupt_input);
  }

  const auto pairs = fuzz::split_at_zero(fuzz::text_of(data, size));
  auto context = cli::parse_context(pairs);
  if (!context) {
    FUZZ_CHECK(context.error().category == ErrorCategory::usage);
    return 0;
  }
  FUZZ_CHECK(context->size() == pairs.size());
  for (const auto& pair : pairs) {
    const auto eq = pair.find('=');
    FUZZ_CHECK(eq != std::string::npos && eq > 0);
    auto found = context->find(pair.substr(0, eq));
    FUZZ_CHECK(found != context->end() && found->second == pair.substr(eq + 1));
  }
  FUZZ_CHECK(envelope::validate_context(*context).has_value());
  auto again = envelope::decode_context(envelope::encode_context(*context));
  FUZZ_CHECK(again && *again == *context);
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  std::vector<std::vector<std::uint8_t>> seeds;
  seeds.push_back(fuzz::bytes_of(std::string_view("tenant=acme\0table=users\0purpose=a=b", 35)));
  seeds.push_back(fuzz::bytes_of("k="));
  seeds.push_back(envelope::encode_context({{"tenant", "acme"}, {"table", "users"}}));
  seeds.push_back(envelope::encode_context({}));
  return seeds;
}
