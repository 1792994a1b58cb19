#include "tools/common/token_context.h"

#include <unistd.h>

#include "tools/common/cli.h"

namespace keyward::cli {

void add_token_options(CLI::App& command, TokenOptions& options) {
  add_token_option(command, options.uri);
  command.add_flag("--accept-module-limits", options.accept_module_limits,
                   "proceed on a PKCS#11 module that does not implement or enforce every policy attribute "
                   "(e.g. NSS softoken); the limits are reported");
}

Error as_infrastructure_error(Error error) {
  // INTERFACE.md: a module that does not load, a URI that names no token, a PIN that cannot be read
  // or a login that fails are infrastructure errors (exit 3). A malformed request stays a usage error.
  if (error.category != ErrorCategory::usage) error.category = ErrorCategory::token;
  return error;
}

Result<TokenContext> open_token(const TokenOptions& options, std::size_t max_sessions) {
  KW_ASSIGN_OR_RETURN(auto uri, parse_token_option(options.uri));
  TokenContext context;
  auto connection = p11::Connection::open(uri, p11::ConnectOptions{.login = true, .allow_prompt = isatty(0) == 1});
  if (!connection) return fail(as_infrastructure_error(std::move(connection).error()));
  context.connection = std::move(*connection);
  context.pool = std::make_shared<p11::SessionPool>(context.connection, p11::SessionPoolOptions{.max_sessions = max_sessions});
  context.hierarchy = std::make_unique<hierarchy::KeyHierarchy>(
      context.pool, hierarchy::HierarchyOptions{.accept_module_limits = options.accept_module_limits,
                                                .session_kek_copies_for_rewrap = options.session_kek_copies_for_rewrap});
  return context;
}

}  // namespace keyward::cli
