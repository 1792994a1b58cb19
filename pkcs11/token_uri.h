// TokenUri: a parsed PKCS#11 URI (RFC 7512) naming a token, its module and its PIN source.
//
// Parsing is p11-kit's (p11_kit_uri_parse); keyward reads the path attributes that select a token
// (token=, serial=, manufacturer=, model=) and the query attributes module-path=, pin-source=,
// pin-value= and the vendor attribute x-init-reserved= (C_Initialize parameters, needed by NSS).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pkcs11/ck.h"
#include "base/error.h"
#include "base/secret_bytes.h"

namespace keyward::p11 {

class TokenUri {
 public:
  // Errors: usage, naming what p11-kit found wrong. The default module is SoftHSM2's.
  static Result<TokenUri> parse(std::string_view uri);

  const std::string& module_path() const { return module_path_; }
  const std::optional<std::string>& init_reserved() const { return init_reserved_; }
  const std::optional<std::string>& pin_source() const { return pin_source_; }
  // pin-value: for tests only (a PIN in a URI on argv is visible to every local user).
  bool has_pin_value() const { return pin_value_ != nullptr; }
  const std::optional<std::string>& token_label() const { return token_label_; }

  // True if the token whose info is given matches the URI's path attributes.
  bool matches(const CK_TOKEN_INFO& info) const;

  // The URI without any pin-value, safe to print and log.
  std::string redacted() const;

  // The pin-value, if any, moved into zeroizing memory.
  std::optional<SecretBytes> pin_value() const;

 private:
  std::string module_path_;
  std::optional<std::string> init_reserved_;
  std::optional<std::string> pin_source_;
  std::optional<std::string> token_label_;
  std::shared_ptr<const SecretBytes> pin_value_;
  std::shared_ptr<void> parsed_;  // P11KitUri, freed with p11_kit_uri_free
  std::string redacted_;
};

}  // namespace keyward::p11
