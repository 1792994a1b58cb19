#include "tools/keyward/context_option.h"

namespace keyward::cli {

Result<envelope::EncryptionContext> parse_context(const std::vector<std::string>& pairs) {
  envelope::EncryptionContext context;
  for (const auto& pair : pairs) {
    auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0)
      return make_error(ErrorCategory::usage, "--context takes key=value (got a pair without a key or '=')");
    if (!context.emplace(pair.substr(0, eq), pair.substr(eq + 1)).second)
      return make_error(ErrorCategory::usage, "--context key '" + pair.substr(0, eq) + "' given twice");
  }
  return context;
}

}  // namespace keyward::cli
