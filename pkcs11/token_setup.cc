#include "pkcs11/token_setup.h"

#include <openssl/rand.h>

namespace keyward::p11 {

Result<Token> initialize_fresh_token(const std::shared_ptr<Module>& module, std::string_view label,
                                     const SecretBytes& so_pin, const SecretBytes& user_pin) {
  KW_ASSIGN_OR_RETURN(auto present, Token::list(*module));
  for (const auto& info : present) {
    if (info.initialized() && info.label == label)
      return make_error(ErrorCategory::usage, "a token labelled '" + std::string(label) + "' already exists " +
                                                  info.describe() + ": refusing to initialise it again");
  }
  KW_ASSIGN_OR_RETURN(auto blank, Token::first_uninitialized(module));
  KW_ASSIGN_OR_RETURN(auto token, blank.initialize(so_pin, label));
  {
    KW_ASSIGN_OR_RETURN(auto session, token.open_session(true));
    KW_TRY(session.login(CKU_SO, so_pin));
    KW_TRY(session.init_user_pin(user_pin));
    KW_TRY(session.logout());
  }
  // Read the flags again: CKF_USER_PIN_INITIALIZED is now set.
  return Token::find_by_slot(module, token.info().slot);
}

Result<SecretBytes> random_pin(std::size_t length) {
  SecretBytes raw((length + 1) / 2);
  if (RAND_priv_bytes(raw.reveal_mutable().data(), static_cast<int>(raw.size())) != 1)
    return make_error(ErrorCategory::internal, "OpenSSL's random generator failed");
  static constexpr char kHex[] = "0123456789abcdef";
  SecretBytes pin(raw.size() * 2);
  auto out = pin.reveal_mutable();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    out[2 * i] = static_cast<std::uint8_t>(kHex[raw.reveal()[i] >> 4]);
    out[2 * i + 1] = static_cast<std::uint8_t>(kHex[raw.reveal()[i] & 0xF]);
  }
  pin.shrink_to(length);
  return pin;
}

}  // namespace keyward::p11
