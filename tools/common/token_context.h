// Opening the token a command names: connection, session pool and key hierarchy.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "hierarchy/open_hierarchy.h"
#include "hierarchy/token_set.h"

namespace keyward::cli {

struct TokenOptions {
  std::string uri;                   // --token / KEYWARD_TOKEN
  bool accept_module_limits = false; // --accept-module-limits
  bool session_kek_copies_for_rewrap = false;  // rotation processes only (HierarchyOptions)
};

using TokenContext = hierarchy::OpenedToken;

// Adds --token and --accept-module-limits to `command`.
void add_token_options(CLI::App& command, TokenOptions& options);

using hierarchy::as_infrastructure_error;

// Parses the URI (refusing pin-value from argv), logs in (prompting on a terminal when the URI
// names no PIN source), and builds the hierarchy.
Result<TokenContext> open_token(const TokenOptions& options, std::size_t max_sessions = 4);

}  // namespace keyward::cli
