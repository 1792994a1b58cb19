// Opening the token a command names: connection, session pool and key hierarchy.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "hierarchy/key_hierarchy.h"
#include "pkcs11/connection.h"
#include "pkcs11/session_pool.h"
#include "pkcs11/token_uri.h"

namespace keyward::cli {

struct TokenOptions {
  std::string uri;                   // --token / KEYWARD_TOKEN
  bool accept_module_limits = false; // --accept-module-limits
  bool session_kek_copies_for_rewrap = false;  // rotation processes only (HierarchyOptions)
};

struct TokenContext {
  std::shared_ptr<p11::Connection> connection;
  std::shared_ptr<p11::SessionPool> pool;
  std::unique_ptr<hierarchy::KeyHierarchy> hierarchy;
};

// Adds --token and --accept-module-limits to `command`.
void add_token_options(CLI::App& command, TokenOptions& options);

// A failure to reach the token (module load, no matching token, PIN source, login) as the
// infrastructure error it is (category token, exit 3); usage errors stay usage errors.
Error as_infrastructure_error(Error error);

// Parses the URI (refusing pin-value from argv), logs in (prompting on a terminal when the URI
// names no PIN source), and builds the hierarchy.
Result<TokenContext> open_token(const TokenOptions& options, std::size_t max_sessions = 4);

}  // namespace keyward::cli
