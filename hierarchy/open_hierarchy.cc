#include "hierarchy/open_hierarchy.h"

namespace keyward::hierarchy {

Error as_infrastructure_error(Error error) {
  // INTERFACE.md: a module that does not load, a URI that names no token, a PIN that cannot be read
  // or a login that fails are infrastructure errors (exit 3). A malformed request stays a usage error.
  if (error.category != ErrorCategory::usage) error.category = ErrorCategory::token;
  return error;
}

Result<OpenedToken> open_hierarchy(const p11::TokenUri& uri, const TokenOpenOptions& options) {
  auto connection = p11::Connection::open(uri, p11::ConnectOptions{.login = true, .allow_prompt = options.allow_pin_prompt});
  if (!connection) return fail(as_infrastructure_error(std::move(connection).error()));
  OpenedToken opened;
  opened.connection = std::move(*connection);
  opened.pool = std::make_shared<p11::SessionPool>(opened.connection, p11::SessionPoolOptions{.max_sessions = options.max_sessions});
  opened.hierarchy = std::make_unique<KeyHierarchy>(opened.pool, options.hierarchy);
  return opened;
}

}  // namespace keyward::hierarchy
