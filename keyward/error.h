// keyward's error vocabulary: the one Error type, and Result<T>/Status that every fallible call of the
// public API returns (std::expected, C++23). Expected failures (bad input, token refusals, data that
// fails authentication) travel as values, never as exceptions.
//
// Messages name what failed and what to do; they never contain key bytes, PINs or plaintext, so an
// application may log them.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/export.h"

namespace keyward {

enum class ErrorCategory {
  usage,               // the caller asked for something malformed or impossible
  token,               // the PKCS#11 module or token refused or failed
  authentication,      // data failed authentication (tag, commitment, signature, checksum)
  policy,              // an object or request violates keyward's key policy
  corrupt_input,       // bytes that do not parse as the format they claim to be
  not_found,           // a key, token, version or entry that does not exist
  shredded,            // the key was crypto-shredded on purpose
  io,                  // the operating system refused a file or stream operation
  internal,            // a bug or an invariant broken inside keyward
  database,            // the catalog's database server (PostgreSQL) is unreachable or failed: infrastructure, like token
};

// "usage", "token", "authentication", …: stable names for logs and metrics.
KEYWARD_API std::string_view category_name(ErrorCategory category);

// The process exit code keyward's tools use for an error of this category: 2 usage, 3 token (module,
// login, PKCS#11) and database (catalog server unreachable), 1 everything else (the operation failed). Apps that wrap keyward in a command keep
// the same convention by returning this.
KEYWARD_API int exit_code_for(ErrorCategory category);

struct [[nodiscard]] Error {
  ErrorCategory category = ErrorCategory::internal;
  std::string message;
  std::optional<unsigned long> ck_rv;  // the raw PKCS#11 return value when the token produced this error

  // exit_code_for(category).
  int exit_code() const { return exit_code_for(category); }

  // Prefixes context ("opening KEK payments/v2: ") to the message, keeping category and ck_rv.
  KEYWARD_API Error with_context(std::string_view context) const&;
  KEYWARD_API Error with_context(std::string_view context) &&;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

}  // namespace keyward
