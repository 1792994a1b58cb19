// keyward's error helpers for the code inside the library: make_error, fail, KW_TRY and
// KW_ASSIGN_OR_RETURN. The vocabulary types (Error, Result, Status, ErrorCategory) are public and live
// in keyward/error.h, which this header includes, so code inside the library needs only this one.
#pragma once

#include <string>
#include <utility>

#include "keyward/error.h"

namespace keyward {

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
