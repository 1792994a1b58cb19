// Opening the token a command names: connection, session pool and key hierarchy.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "hierarchy/open_hierarchy.h"
#include "hierarchy/token_set.h"
#include "keyward/client.h"

namespace keyward::cli {

struct TokenOptions {
  std::string uri;                   // --token / KEYWARD_TOKEN
  bool accept_module_limits = false; // --accept-module-limits
  bool session_kek_copies_for_rewrap = false;  // rotation processes only (HierarchyOptions)
  std::string audit;                 // --audit; else $KEYWARD_AUDIT; else beside `catalog`
  std::string catalog;               // the command's catalog (set by the tool before opening)
};

using TokenContext = hierarchy::OpenedToken;

// Adds --token and --accept-module-limits to `command`.
void add_token_options(CLI::App& command, TokenOptions& options);

using hierarchy::as_infrastructure_error;

// Parses the URI (refusing pin-value from argv), logs in (prompting on a terminal when the URI
// names no PIN source), builds the hierarchy and opens the process's audit log (a failed login is
// recorded there too). Child processes inherit the log's path through $KEYWARD_AUDIT.
Result<TokenContext> open_token(const TokenOptions& options, std::size_t max_sessions = 4);

// Warns on stderr of each token of a set that is out of service (unreachable at start-up, or failed),
// naming it and why: the tools work around it, and the operator hears of it. (open_token does this.)
void warn_about_tokens_out(const std::vector<TokenHealth>& health);

// The audit log's path for `options` (shared/INTERFACE.md: --audit, $KEYWARD_AUDIT, beside the catalog).
std::string audit_log_path(const TokenOptions& options);

// Closes the audit log open_token opened (flushes usage, signs the last checkpoint). Returns `code`,
// or, when the tool succeeded but the close failed, reports that and returns its exit code.
int finish_audit(std::string_view tool, int code);

}  // namespace keyward::cli
