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

Result<TokenContext> open_token(const TokenOptions& options, std::size_t max_sessions) {
  KW_ASSIGN_OR_RETURN(auto uris, parse_token_uris(options.uri));
  return hierarchy::open_tokens(
      uris, hierarchy::TokenSetOptions{.open = {
                .allow_pin_prompt = isatty(0) == 1,
                .max_sessions = max_sessions,
                .hierarchy = hierarchy::HierarchyOptions{.accept_module_limits = options.accept_module_limits,
                                                         .session_kek_copies_for_rewrap = options.session_kek_copies_for_rewrap}}});
}

}  // namespace keyward::cli
