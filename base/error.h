// keyward's single error type and the Result<T> every fallible library call returns.
//
// Expected failures (bad input, token refusals, authentication failures) travel as values, never as
// exceptions. Messages name what failed and what to do; they never contain key bytes, PINs or plaintext.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

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
};

std::string_view category_name(ErrorCategory category);

// The process exit code the tools use for an error of this category (see shared INTERFACE: 1, 2, 3).
int exit_code_for(ErrorCategory category);

struct [[nodiscard]] Error {
  ErrorCategory category = ErrorCategory::internal;
  std::string message;
  std::optional<unsigned long> ck_rv;  // the raw CK_RV when a PKCS#11 call produced this error

  // Prefixes context ("opening KEK payments/v2: ") to the message, keeping category and CK_RV.
  Error with_context(std::string_view context) const&;
  Error with_context(std::string_view context) &&;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> make_error(ErrorCategory category, std::string message) {
  return std::unexpected<Error>(Error{category, std::move(message), std::nullopt});
}

inline std::unexpected<Error> fail(Error error) { return std::unexpected<Error>(std::move(error)); }

}  // namespace keyward

#define KEYWARD_CONCAT_INNER(a, b) a##b
#define KEYWARD_CONCAT(a, b) KEYWARD_CONCAT_INNER(a, b)

// Returns the error of a Result/Status expression from the enclosing function (s2n's GUARD idea).
#define KW_TRY(expr)                                                  \
  do {                                                                \
    if (auto kw_try_result_ = (expr); !kw_try_result_)                \
      return std::unexpected(std::move(kw_try_result_).error());     \
  } while (0)

// Declares `lhs` from a Result expression, or returns its error from the enclosing function.
#define KW_ASSIGN_OR_RETURN(lhs, expr) \
  KW_ASSIGN_OR_RETURN_IMPL(KEYWARD_CONCAT(kw_result_, __LINE__), lhs, expr)
#define KW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)       \
  auto tmp = (expr);                                   \
  if (!tmp) return std::unexpected(std::move(tmp).error()); \
  lhs = std::move(*tmp)
