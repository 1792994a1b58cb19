// keyward audit verify|show|alerts: reading the audit log (docs/AUDIT.md). Thin over audit/.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "tools/common/token_context.h"

namespace keyward::cli {

struct AuditCommand {
  std::string audit;    // --audit; else $KEYWARD_AUDIT; else beside the catalog
  std::string catalog;  // --catalog, for the default location
  std::string token_uri;  // verify: the token whose key and head anchor the log ($KEYWARD_TOKEN)
  bool no_token = false;  // verify: the chain and signatures only (truncation cannot be seen)
  std::string key, scope, op, since, until;  // show filters
  bool json = false;
  std::uint64_t window_seconds = 3600;  // alerts
  std::uint64_t threshold = 5;
};

void add_audit_commands(CLI::App& app, AuditCommand& command);
int run_audit(const CLI::App& audit_app, const AuditCommand& command);

}  // namespace keyward::cli
