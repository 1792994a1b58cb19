#include "pkcs11/connection.h"

#include "pkcs11/pin_source.h"

namespace keyward::p11 {

Result<std::shared_ptr<Connection>> Connection::open(const TokenUri& uri, const ConnectOptions& options) {
  KW_ASSIGN_OR_RETURN(auto module, Module::load(ModuleOptions{uri.module_path(), uri.init_reserved()}));
  KW_ASSIGN_OR_RETURN(auto token, Token::find(module, uri));
  std::optional<SecretBytes> pin;
  if (options.login) {
    if (auto value = uri.pin_value()) {
      pin = std::move(*value);
    } else if (uri.pin_source()) {
      KW_ASSIGN_OR_RETURN(auto read, read_pin(*uri.pin_source(), "user PIN"));
      pin = std::move(read);
    } else if (options.allow_prompt) {
      KW_ASSIGN_OR_RETURN(auto read, read_pin("prompt", "user PIN for token '" + token.info().label + "'"));
      pin = std::move(read);
    } else {
      return make_error(ErrorCategory::usage, "the token URI " + uri.redacted() +
                                                  " names no PIN: add pin-source=file:PATH to it");
    }
  }
  return open(std::move(token), std::move(pin));
}

Result<std::shared_ptr<Connection>> Connection::open(Token token, std::optional<SecretBytes> user_pin) {
  std::shared_ptr<Connection> connection(new Connection(std::move(token), std::move(user_pin)));
  std::lock_guard lock(connection->anchor_mutex_);
  KW_TRY(connection->open_anchor());
  return connection;
}

Status Connection::open_anchor() {
  anchor_.reset();
  KW_ASSIGN_OR_RETURN(auto session, token_.open_session(true));
  if (pin_) {
    if (auto login = session.login(CKU_USER, *pin_); !login)
      return fail(std::move(login).error().with_context("logging in to token " + token_.info().describe()));
  }
  anchor_.emplace(std::move(session));
  return {};
}

Result<SecretBytes> Connection::copy_user_pin_for_second_library() const {
  if (!pin_) return make_error(ErrorCategory::usage, "the connection is not logged in");
  return pin_->clone();
}

Status Connection::reconnect(std::uint64_t seen_generation) {
  std::lock_guard lock(anchor_mutex_);
  if (generation_.load(std::memory_order_acquire) != seen_generation) return {};  // someone else did it
  KW_TRY(open_anchor());
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return {};
}

}  // namespace keyward::p11
