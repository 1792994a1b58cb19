#include "pkcs11/token_uri.h"

#include <memory>

#include "pkcs11/ck.h"
// p11-kit/uri.h includes pkcs11.h again; its include guard keeps the macros from coming back, but
// re-clean after it in case a future p11-kit changes that.
#include <p11-kit/uri.h>

#include "pkcs11/module.h"
#include "pkcs11/pin_source.h"

#ifndef KEYWARD_DEFAULT_MODULE
#define KEYWARD_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#endif

namespace keyward::p11 {

Result<TokenUri> TokenUri::parse(std::string_view text) {
  if (text.empty())
    return make_error(ErrorCategory::usage, "no token URI: pass --token pkcs11:… or set KEYWARD_TOKEN");
  std::shared_ptr<P11KitUri> uri(p11_kit_uri_new(), p11_kit_uri_free);
  std::string copy(text);
  int status = p11_kit_uri_parse(copy.c_str(), P11_KIT_URI_FOR_TOKEN, uri.get());
  if (status != P11_KIT_URI_OK) {
    return make_error(ErrorCategory::usage,
                      std::string("token URI does not parse (RFC 7512): ") + p11_kit_uri_message(status));
  }
  TokenUri result;
  result.parsed_ = uri;
  const char* module = p11_kit_uri_get_module_path(uri.get());
  result.module_path_ = module ? module : KEYWARD_DEFAULT_MODULE;
  if (const char* reserved = p11_kit_uri_get_vendor_query(uri.get(), "x-init-reserved"))
    result.init_reserved_ = reserved;
  if (const char* source = p11_kit_uri_get_pin_source(uri.get())) result.pin_source_ = source;
  if (const char* value = p11_kit_uri_get_pin_value(uri.get())) {
    std::string_view pin(value);
    result.pin_value_ = std::make_shared<const SecretBytes>(
        SecretBytes::copy_of({reinterpret_cast<const std::uint8_t*>(pin.data()), pin.size()}));
  }
  CK_TOKEN_INFO* info = p11_kit_uri_get_token_info(uri.get());
  std::string label = from_padded(info->label, sizeof info->label);
  if (!label.empty()) result.token_label_ = label;

  // The printable form: only what keyward reads — the token's path attributes, module-path, a
  // pin-source of one of the PIN source forms (anything else there is most likely the PIN itself, given
  // by mistake as pin-source=1234), x-init-reserved — rebuilt in a fresh URI. p11-kit keeps unknown
  // query attributes verbatim, so re-formatting the parsed URI printed a misspelt PIN attribute
  // ("pin_value=…", "pinvalue=…") with its PIN (found by tests/fuzz/token_uri_fuzz.cc).
  std::unique_ptr<P11KitUri, void (*)(P11KitUri*)> printable(p11_kit_uri_new(), p11_kit_uri_free);
  *p11_kit_uri_get_token_info(printable.get()) = *info;
  if (module) p11_kit_uri_set_module_path(printable.get(), module);
  if (result.pin_source_ && is_pin_source_form(*result.pin_source_))
    p11_kit_uri_set_pin_source(printable.get(), result.pin_source_->c_str());
  if (result.init_reserved_) p11_kit_uri_set_vendor_query(printable.get(), "x-init-reserved", result.init_reserved_->c_str());
  char* formatted = nullptr;
  if (p11_kit_uri_format(printable.get(), P11_KIT_URI_FOR_ANY, &formatted) == P11_KIT_URI_OK && formatted) {
    result.redacted_ = formatted;
    free(formatted);
  } else {
    result.redacted_ = "pkcs11:(unprintable)";
  }
  return result;
}

bool TokenUri::matches(const CK_TOKEN_INFO& info) const {
  return p11_kit_uri_match_token_info(static_cast<P11KitUri*>(parsed_.get()), &info) == 1;
}

std::string TokenUri::redacted() const { return redacted_; }

std::optional<SecretBytes> TokenUri::pin_value() const {
  if (!pin_value_) return std::nullopt;
  return pin_value_->clone();
}

}  // namespace keyward::p11
