// Connection: a logged-in token, kept logged in by a long-lived anchor session.
//
// PKCS#11 ties login state to the application's sessions on a token: when the last session closes,
// the token logs out and every object handle — token objects included — becomes invalid. The
// anchor session is opened first and closed last, and never used for work, so that worker
// sessions can come and go without losing the login or the handles.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "base/error.h"
#include "base/secret_bytes.h"
#include "pkcs11/session.h"
#include "pkcs11/token.h"
#include "pkcs11/token_uri.h"

namespace keyward::p11 {

struct ConnectOptions {
  bool login = true;            // false: public objects only (e.g. token reports)
  bool allow_prompt = false;    // ask on the terminal when the URI names no PIN
};

class Connection {
 public:
  // Loads the URI's module, finds its token, reads the PIN (pin-value, else pin-source, else a
  // prompt if allowed), opens the anchor session and logs in as the user.
  static Result<std::shared_ptr<Connection>> open(const TokenUri& uri, const ConnectOptions& options = {});
  // The same, for a token already found (e.g. one just initialised) and a PIN already read.
  static Result<std::shared_ptr<Connection>> open(Token token, std::optional<SecretBytes> user_pin);

  const Token& token() const { return token_; }
  // A copy of the user PIN, for a second library that must log in to the same token in this
  // process (libp11 for transcript signing). Errors: usage if the connection did not log in.
  Result<SecretBytes> copy_user_pin_for_second_library() const;
  bool logged_in() const { return pin_.has_value(); }

  // A new read-write session sharing the anchor's login. Thread-safe.
  Result<Session> open_session() const { return token_.open_session(true); }

  // Bumped every time reconnect() re-establishes the login: object handles from an older
  // generation are invalid.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Re-opens the anchor session and logs in again if `seen_generation` is still current (another
  // thread may have done it already). Thread-safe.
  Status reconnect(std::uint64_t seen_generation);

 private:
  Connection(Token token, std::optional<SecretBytes> pin) : token_(std::move(token)), pin_(std::move(pin)) {}
  Status open_anchor();

  Token token_;
  std::optional<SecretBytes> pin_;  // kept to log in again after a lost session
  std::mutex anchor_mutex_;
  std::optional<Session> anchor_;
  std::atomic<std::uint64_t> generation_{1};
};

}  // namespace keyward::p11
