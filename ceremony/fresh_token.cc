#include "ceremony/fresh_token.h"

#include <openssl/crypto.h>
#include <unistd.h>

#include "base/files.h"
#include "pkcs11/module.h"
#include "pkcs11/pin_source.h"
#include "pkcs11/token_setup.h"

namespace keyward::ceremony {

Result<FreshToken> initialize_fresh_token_for(const p11::TokenUri& uri, const std::string& so_pin_source,
                                              const std::string& user_pin_out) {
  if (!uri.token_label())
    return make_error(ErrorCategory::usage, "to initialise a token, its URI must name the new label (token=...)");
  std::string pin_path = user_pin_out;
  if (pin_path.empty() && uri.pin_source() && uri.pin_source()->starts_with("file:")) pin_path = uri.pin_source()->substr(5);
  if (pin_path.empty())
    return make_error(ErrorCategory::usage, "say where the new user PIN goes: pin-source=file:PATH in the URI, or --user-pin-out");
  KW_ASSIGN_OR_RETURN(auto so_pin, p11::read_pin(so_pin_source, "SO PIN"));
  KW_ASSIGN_OR_RETURN(auto user_pin, p11::random_pin(32));
  KW_ASSIGN_OR_RETURN(auto module, p11::Module::load({uri.module_path(), uri.init_reserved()}));
  // The PIN file first (O_EXCL): if it cannot be written, the token is left untouched.
  std::string text(reinterpret_cast<const char*>(user_pin.reveal().data()), user_pin.size());
  text += "\n";
  auto written = cli::write_new_file(pin_path, text, 0600);
  OPENSSL_cleanse(text.data(), text.size());
  KW_TRY(written);
  auto token = p11::initialize_fresh_token(module, *uri.token_label(), so_pin, user_pin);
  if (!token) {
    ::unlink(pin_path.c_str());
    return std::unexpected(std::move(token).error());
  }
  return FreshToken{token->info().describe(), pin_path};
}

}  // namespace keyward::ceremony
