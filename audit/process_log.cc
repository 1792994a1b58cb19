#include "audit/process_log.h"

#include <cstdlib>
#include <filesystem>

#include "audit/recorder.h"
#include "audit/token_anchor.h"

namespace keyward::audit {

std::string choose_audit_log(std::string_view flag, std::string_view catalog) {
  if (!flag.empty()) return std::string(flag);
  if (const char* env = std::getenv("KEYWARD_AUDIT"); env != nullptr && *env != '\0') return env;
  const bool database = catalog.starts_with("postgres://") || catalog.starts_with("postgresql://");
  const std::filesystem::path dir = database ? std::filesystem::path() : std::filesystem::path(catalog).parent_path();
  return (dir / "keyward-audit.jsonl").string();
}

WriterOptions writer_options_from_environment() {
  WriterOptions options;
  const char* reads = std::getenv("KEYWARD_AUDIT_READS");
  options.reads_warn_only = reads != nullptr && std::string_view(reads) == "warn";
  return options;
}

Result<std::unique_ptr<ProcessAuditLog>> ProcessAuditLog::open(const std::string& path, std::shared_ptr<p11::Connection> connection,
                                                               WriterOptions options) {
  KW_ASSIGN_OR_RETURN(auto anchor, TokenAnchor::open(std::move(connection), /*create_key=*/true));
  auto opened = AuditLog::open(path, std::move(anchor), options);
  if (!opened) return fail(std::move(opened).error().with_context("opening the audit log"));
  std::unique_ptr<ProcessAuditLog> log(new ProcessAuditLog(std::move(*opened)));
  install(log->log_);
  return log;
}

ProcessAuditLog::~ProcessAuditLog() { (void)close(); }

Status ProcessAuditLog::close() {
  if (closed_) return {};
  closed_ = true;
  if (installed() == log_) install(nullptr);
  return log_->close();
}

Result<VerifyReport> verify_log_on_token(const std::string& path, std::shared_ptr<p11::Connection> connection) {
  auto anchor = TokenAnchor::open(std::move(connection), /*create_key=*/false);
  if (!anchor) return fail(std::move(anchor).error().with_context("opening the token's audit signer"));
  return verify_log(path, anchor->get());
}

Status record_failed_login(const std::string& path, std::string_view token, const Error& error) {
  WriterOptions options;
  options.background = false;
  KW_ASSIGN_OR_RETURN(auto log, AuditLog::open(path, nullptr, options));
  KW_TRY(log->record(Event{"token.login", "failed", "", "",
                           {{"token", std::string(token)}, {"category", std::string(category_name(error.category))},
                            {"reason", error.message}}}));
  return log->close();
}

}  // namespace keyward::audit
