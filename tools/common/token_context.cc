#include "tools/common/token_context.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "audit/process_log.h"
#include "hierarchy/token_set.h"

#include "tools/common/cli.h"

namespace keyward::cli {

void add_token_options(CLI::App& command, TokenOptions& options) {
  add_token_option(command, options.uri);
  command.add_flag("--accept-module-limits", options.accept_module_limits,
                   "proceed on a PKCS#11 module that does not implement or enforce every policy attribute "
                   "(e.g. NSS softoken); the limits are reported");
  command.add_option("--audit", options.audit,
                     "audit log (JSON lines); default: $KEYWARD_AUDIT, else keyward-audit.jsonl beside the catalog");
}

namespace {

// Never destroyed: finish_audit() closes the log. A static destructor would close it at exit after
// objects it uses (the token's connection, the module) may already be gone, a use after free on any
// exit path that skipped finish_audit(); unclosed, the log only lacks its final checkpoint, and every
// record before it is already on disk.
std::unique_ptr<audit::ProcessAuditLog>& tool_audit_log() {
  static auto* log = new std::unique_ptr<audit::ProcessAuditLog>();
  return *log;
}

}  // namespace

std::string audit_log_path(const TokenOptions& options) {
  if (!options.catalog.empty()) return audit::choose_audit_log(options.audit, options.catalog);
  const char* catalog = std::getenv("KEYWARD_CATALOG");
  return audit::choose_audit_log(options.audit, catalog != nullptr && *catalog != '\0' ? catalog : "keyward-catalog.db");
}

Result<TokenContext> open_token(const TokenOptions& options, std::size_t max_sessions) {
  KW_ASSIGN_OR_RETURN(auto uris, parse_token_uris(options.uri));
  const std::string audit_path = audit_log_path(options);
  auto opened = hierarchy::open_tokens(
      uris, hierarchy::TokenSetOptions{.open = {
                .allow_pin_prompt = isatty(0) == 1,
                .max_sessions = max_sessions,
                .hierarchy = hierarchy::HierarchyOptions{.accept_module_limits = options.accept_module_limits,
                                                         .session_kek_copies_for_rewrap = options.session_kek_copies_for_rewrap}}});
  if (!opened) {
    if (opened.error().category == ErrorCategory::token) {
      std::string tokens;
      for (const auto& uri : uris) tokens += (tokens.empty() ? "" : " ") + uri.redacted();
      KW_TRY(audit::record_failed_login(audit_path, tokens, opened.error()));
    }
    return opened;
  }
  if (const auto* set = dynamic_cast<const hierarchy::TokenSet*>(opened->hierarchy.get())) {
    std::vector<TokenHealth> health;
    for (const auto& member : set->members())
      health.push_back({member.name, member.in_service, member.last_problem, member.times_taken_out, member.operations});
    warn_about_tokens_out(health);
  }
  if (!tool_audit_log()) {
    KW_ASSIGN_OR_RETURN(tool_audit_log(), audit::ProcessAuditLog::open(audit_path, opened->connection,
                                                                        audit::writer_options_from_environment()));
    ::setenv("KEYWARD_AUDIT", audit_path.c_str(), 1);  // worker processes write the same log
  }
  return opened;
}

void warn_about_tokens_out(const std::vector<TokenHealth>& health) {
  for (const auto& token : health)
    if (!token.in_service)
      std::cerr << "warning: " << token.token << " is out of service (" << token.problem
                << "); working with the other tokens of the set\n";
}

int finish_audit(std::string_view tool, int code) {
  auto& log = tool_audit_log();
  if (!log) return code;
  Status closed = log->close();
  log.reset();
  if (!closed && code == kExitOk) return report(tool, closed.error());
  return code;
}

}  // namespace keyward::cli
