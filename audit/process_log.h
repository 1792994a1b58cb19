// The audit log of a process: where it is, opening it anchored in the token, and closing it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "audit/log_writer.h"
#include "audit/verify.h"
#include "pkcs11/connection.h"

namespace keyward::audit {

// shared/INTERFACE.md: `flag` (--audit), else $KEYWARD_AUDIT, else keyward-audit.jsonl in the
// directory of `catalog` (a SQLite path; for a database URI, the working directory).
std::string choose_audit_log(std::string_view flag, std::string_view catalog);

// Writer options from the environment: KEYWARD_AUDIT_READS=warn makes reads warn-only (see
// WriterOptions::reads_warn_only); anything else, or unset, keeps every record mandatory.
WriterOptions writer_options_from_environment();

// The process's audit log from open() to close(): anchored in `connection`'s token (the signer made
// on first use), installed for the hooks (recorder.h), and at close() its usage flushed, a last
// checkpoint signed and the hooks detached. One per process. Errors: io, token.
class ProcessAuditLog {
 public:
  static Result<std::unique_ptr<ProcessAuditLog>> open(const std::string& path, std::shared_ptr<p11::Connection> connection,
                                                       WriterOptions options);
  ~ProcessAuditLog();  // close(), its error dropped
  ProcessAuditLog(const ProcessAuditLog&) = delete;
  ProcessAuditLog& operator=(const ProcessAuditLog&) = delete;

  Status close();
  const std::string& path() const { return log_->path(); }

 private:
  explicit ProcessAuditLog(std::shared_ptr<AuditLog> log) : log_(std::move(log)) {}
  std::shared_ptr<AuditLog> log_;
  bool closed_ = false;
};

// Verifies the log at `path` against `connection`'s token: its audit key and the head it keeps.
// Errors: not_found when the token has no audit signer; those of verify_log.
Result<VerifyReport> verify_log_on_token(const std::string& path, std::shared_ptr<p11::Connection> connection);

// A login that failed (wrong PIN, no such token): recorded without the token, whose key cannot be
// used; the next anchored writer's checkpoint covers it. Errors: io.
Status record_failed_login(const std::string& path, std::string_view token, const Error& error);

}  // namespace keyward::audit
