// Token: a slot with a token present in a loaded module; finds tokens by URI and opens sessions.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pkcs11/ck.h"
#include "base/error.h"
#include "pkcs11/module.h"
#include "pkcs11/session.h"
#include "pkcs11/token_uri.h"

namespace keyward::p11 {

struct TokenInfo {
  CK_SLOT_ID slot = 0;
  std::string label, manufacturer, model, serial;
  CK_FLAGS flags = 0;
  bool initialized() const { return (flags & CKF_TOKEN_INITIALIZED) != 0; }
  bool user_pin_initialized() const { return (flags & CKF_USER_PIN_INITIALIZED) != 0; }
  // "label (serial …, model …, slot N)", for messages and transcripts.
  std::string describe() const;
};

class Token {
 public:
  // Every slot with a token present.
  static Result<std::vector<TokenInfo>> list(Module& module);
  // The one token matching `uri`. Errors: not_found listing the tokens present; usage when several match.
  static Result<Token> find(std::shared_ptr<Module> module, const TokenUri& uri);
  // The token in `slot`, with fresh info.
  static Result<Token> find_by_slot(std::shared_ptr<Module> module, CK_SLOT_ID slot);
  // The first slot whose token is not initialised (SoftHSM always offers one).
  static Result<Token> first_uninitialized(std::shared_ptr<Module> module);

  const TokenInfo& info() const { return info_; }
  const std::shared_ptr<Module>& module() const { return module_; }

  // C_OpenSession, read-write unless asked otherwise.
  Result<Session> open_session(bool read_write = true) const;

  // C_InitToken with the SO PIN and label. Slot numbers can change afterwards (SoftHSM re-assigns
  // them), so this returns the token as found again by its new label and serial.
  Result<Token> initialize(const SecretBytes& so_pin, std::string_view label) const;

  Result<std::vector<CK_MECHANISM_TYPE>> mechanisms() const;
  Result<CK_MECHANISM_INFO> mechanism_info(CK_MECHANISM_TYPE type) const;

 private:
  Token(std::shared_ptr<Module> module, TokenInfo info) : module_(std::move(module)), info_(std::move(info)) {}
  std::shared_ptr<Module> module_;
  TokenInfo info_;
};

}  // namespace keyward::p11
