// PKCS#11 token URIs (pkcs11/token_uri.h; RFC 7512 through p11-kit), from --token and KEYWARD_TOKEN.
// Properties: never crashes; a refused URI is a usage error; the redacted form, which is printed and
// logged, holds no query attribute but module-path, pin-source (of a PIN source form) and
// x-init-reserved, and reparses to the same module, token label, PIN source and init parameters.
#include <cstring>
#include <string>

#include "pkcs11/pin_source.h"
#include "pkcs11/token_uri.h"
#include "tests/fuzz/fuzz_target.h"

using namespace keyward;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto uri = p11::TokenUri::parse(fuzz::text_of(data, size));
  if (!uri) {
    FUZZ_CHECK(uri.error().category == ErrorCategory::usage);
    return 0;
  }
  const std::string printed = uri->redacted();
  // Only the query attributes keyward reads are printed: anything else may hold a misspelt PIN.
  if (auto query = printed.find('?'); query != std::string::npos) {
    for (std::size_t begin = query + 1; begin < printed.size();) {
      const std::size_t end = std::min(printed.find('&', begin), printed.size());
      const std::string name = printed.substr(begin, printed.find('=', begin) - begin);
      FUZZ_CHECK(name == "module-path" || name == "pin-source" || name == "x-init-reserved");
      begin = end + 1;
    }
  }
  FUZZ_CHECK(uri->pin_value().has_value() == uri->has_pin_value());

  CK_TOKEN_INFO info;
  std::memset(&info, ' ', sizeof info);
  std::memcpy(info.label, "keyward-dev", 11);
  (void)uri->matches(info);

  if (printed == "pkcs11:(unprintable)") return 0;
  auto again = p11::TokenUri::parse(printed);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(!again->has_pin_value());
  FUZZ_CHECK(!again->pin_source() || p11::is_pin_source_form(*again->pin_source()));
  FUZZ_CHECK(again->module_path() == uri->module_path());
  FUZZ_CHECK(again->token_label() == uri->token_label());
  FUZZ_CHECK(again->init_reserved() == uri->init_reserved());
  if (uri->pin_source() && p11::is_pin_source_form(*uri->pin_source())) FUZZ_CHECK(again->pin_source() == uri->pin_source());
  FUZZ_CHECK(again->redacted() == printed);
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  using fuzz::bytes_of;
  return {bytes_of("pkcs11:token=keyward-dev?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/keyward/user.pin"),
          bytes_of("pkcs11:token=keyward%20ci;serial=0123456789abcdef;manufacturer=SoftHSM%20project;model=SoftHSM%20v2"
                   "?pin-value=1234&module-path=/usr/lib/x86_64-linux-gnu/libsoftokn3.so"
                   "&x-init-reserved=configdir='sql:/tmp/nss'%20certPrefix=''%20keyPrefix=''%20flags=optimizeSpace"),
          bytes_of("pkcs11:token=a?pin-source=1234"),
          bytes_of("pkcs11:?pin-source=env:KEYWARD_PIN")};
}
