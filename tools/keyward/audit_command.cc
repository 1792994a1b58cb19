#include "tools/keyward/audit_command.h"

#include <iostream>

#include "audit/process_log.h"
#include "audit/query.h"
#include "audit/verify.h"
#include "tools/common/cli.h"

namespace keyward::cli {
namespace {

constexpr std::string_view kAuditTool = "keyward audit";

std::string log_path(const AuditCommand& command) {
  TokenOptions located;
  located.audit = command.audit;
  located.catalog = command.catalog;
  return audit_log_path(located);
}

int run_verify(const AuditCommand& command) {
  const std::string path = log_path(command);
  Result<audit::VerifyReport> verified = make_error(ErrorCategory::usage, "no token: give --token, set KEYWARD_TOKEN, or --no-token");
  if (command.no_token) {
    verified = audit::verify_log(path, nullptr);
  } else if (!command.token_uri.empty()) {
    auto uri = parse_token_option(command.token_uri);
    if (!uri) return report(kAuditTool, uri.error());
    auto connection = p11::Connection::open(*uri);
    if (!connection) return report(kAuditTool, connection.error());
    verified = audit::verify_log_on_token(path, *connection);
  }
  if (!verified) return report(kAuditTool, verified.error());
  for (const auto& partial : verified->partial_lines) std::cerr << "keyward audit: " << audit::describe(partial) << "\n";
  if (!verified->intact()) {
    std::cerr << "keyward audit: " << path << ": " << audit::describe(*verified->first_problem) << "\n";
    return kExitFailed;
  }
  std::cout << path << ": intact: " << verified->records << " records, " << verified->checkpoints << " checkpoints";
  if (verified->token_head) std::cout << ", reaches the token's head (checkpoint " << verified->token_head->seq << ")";
  if (!verified->anchored) std::cout << " (not checked against a token: records cut from the end cannot be seen)";
  std::cout << "\n";
  return kExitOk;
}

int run_show(const AuditCommand& command) {
  audit::RecordFilter filter{command.key, command.scope, command.op, std::nullopt, std::nullopt};
  if (!command.since.empty()) filter.since = command.since;
  if (!command.until.empty()) filter.until = command.until;
  auto records = audit::read_records(log_path(command), filter);
  if (!records) return report(kAuditTool, records.error());
  for (const auto& record : *records) std::cout << (command.json ? audit::canonical(record) : audit::format_record(record)) << "\n";
  return kExitOk;
}

int run_alerts(const AuditCommand& command) {
  auto records = audit::read_records(log_path(command), {});
  if (!records) return report(kAuditTool, records.error());
  audit::AlertOptions options;
  options.window = std::chrono::seconds(command.window_seconds);
  options.threshold = command.threshold;
  const auto alerts = audit::refusal_alerts(*records, options);
  for (const auto& alert : alerts) {
    if (command.json)
      std::cout << nlohmann::json{{"subject", alert.subject}, {"name", alert.name}, {"refusals", alert.refusals},
                                  {"first", alert.first}, {"last", alert.last}}.dump() << "\n";
    else
      std::cout << "ALERT " << alert.refusals << " refusals for " << alert.subject << " " << alert.name << " between "
                << alert.first << " and " << alert.last << "\n";
  }
  return alerts.empty() ? kExitOk : kExitFailed;  // 1: something to look at (cron, monitoring)
}

}  // namespace

void add_audit_commands(CLI::App& app, AuditCommand& command) {
  auto* audit = app.add_subcommand("audit", "Read the audit log: verify its integrity, show records, raise alerts");
  audit->require_subcommand(1);
  audit->add_option("--audit", command.audit, "audit log; default $KEYWARD_AUDIT, else keyward-audit.jsonl beside the catalog");
  audit->add_option("--catalog", command.catalog, "key catalog, to find the audit log beside it ($KEYWARD_CATALOG)");
  auto* verify = audit->add_subcommand("verify", "Check the chain, checkpoint signatures and the token's head (exit 0 intact, 1 not)");
  add_token_option(*verify, command.token_uri);
  verify->add_flag("--no-token", command.no_token, "check the chain and signatures only (a cut-off tail goes unseen)");
  auto* show = audit->add_subcommand("show", "Print records, filtered");
  show->add_option("--key", command.key, "a key label or DEK ID");
  show->add_option("--scope", command.scope, "a field scope or KEK family");
  show->add_option("--op", command.op, "an operation (kek.create), or a prefix ending in a dot (kek.)");
  show->add_option("--since", command.since, "UTC, e.g. 2026-12-01T10:00:00Z");
  show->add_option("--until", command.until, "UTC, exclusive");
  show->add_flag("--json", command.json, "the records as JSON lines");
  auto* alerts = audit->add_subcommand("alerts", "Refusals per key and per uid over a window, at or above a threshold (exit 1 if any)");
  alerts->add_option("--window", command.window_seconds, "seconds back from now")->capture_default_str();
  alerts->add_option("--threshold", command.threshold, "refusals that raise an alert")->capture_default_str();
  alerts->add_flag("--json", command.json, "one JSON object per alert");
  if (const char* env = std::getenv("KEYWARD_CATALOG")) command.catalog = env;
}

int run_audit(const CLI::App& audit_app, const AuditCommand& command) {
  if (audit_app.got_subcommand("verify")) return run_verify(command);
  if (audit_app.got_subcommand("show")) return run_show(command);
  return run_alerts(command);
}

}  // namespace keyward::cli
