#include "base/error.h"

namespace keyward {

std::string_view category_name(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::usage: return "usage";
    case ErrorCategory::token: return "token";
    case ErrorCategory::authentication: return "authentication";
    case ErrorCategory::policy: return "policy";
    case ErrorCategory::corrupt_input: return "corrupt-input";
    case ErrorCategory::not_found: return "not-found";
    case ErrorCategory::shredded: return "shredded";
    case ErrorCategory::io: return "io";
    case ErrorCategory::internal: return "internal";
    case ErrorCategory::database: return "database";
  }
  return "unknown";
}

int exit_code_for(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::usage: return 2;
    case ErrorCategory::token:
    case ErrorCategory::database: return 3;
    default: return 1;
  }
}

Error Error::with_context(std::string_view context) const& {
  Error copy = *this;
  return std::move(copy).with_context(context);
}

Error Error::with_context(std::string_view context) && {
  message.insert(0, std::string(context) + ": ");
  return std::move(*this);
}

}  // namespace keyward
