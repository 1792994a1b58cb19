// Share file parser: never crashes on any input (sealed shares are refused without a passphrase).
#include <string>

#include "tests/fuzz/fuzz_target.h"

#include "ceremony/backup_share.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keyward;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = ceremony::decode_share_file(text, "fuzz", [](const std::string&) -> Result<SecretBytes> {
    return SecretBytes::copy_of(std::vector<std::uint8_t>{'p', 'a', 's', 's', 'w', 'o', 'r', 'd'});
  });
  (void)parsed;
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  using namespace keyward;
  ceremony::Share share{1, SecretBytes(32)};
  ceremony::ShareMetadata metadata{1, 1, 2, 3, "00112233445566778899aabbccddeeff", "0011223344556677"};
  auto plain = ceremony::encode_share_file(metadata, share, nullptr);
  return {std::vector<std::uint8_t>(plain->begin(), plain->end())};
}
