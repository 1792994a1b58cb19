#include "tools/keyward/open_client.h"

#include <unistd.h>

#include <sstream>

#include "tools/common/cli.h"
#include "tools/common/token_context.h"

namespace keyward::cli {

Result<Client> open_client(const TokenOptions& token, ClientOptions options) {
  KW_TRY(parse_token_uris(token.uri));  // refuses a pin-value from argv
  std::istringstream words(token.uri);
  options.token_uris.clear();
  for (std::string uri; words >> uri;) options.token_uris.push_back(uri);
  options.allow_pin_value = true;  // parse_token_option refused one from argv; KEYWARD_TOKEN may carry one
  options.allow_pin_prompt = isatty(0) == 1;
  options.accept_module_limits = token.accept_module_limits;
  TokenOptions located = token;
  if (located.catalog.empty()) located.catalog = options.catalog;
  options.audit_log = audit_log_path(located);
  auto client = Client::open(options);
  if (client) warn_about_tokens_out(client->token_health());
  return client;
}

}  // namespace keyward::cli
