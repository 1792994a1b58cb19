// The process's audit log, for the hooks in the key hierarchy, the key service, ceremony and rotation.
//
// A tool (or an application) that audits installs its AuditLog once; every hook then calls
// record(), which costs one atomic load and returns ok when none is installed (libraries used
// without an audit log, tests). A hook records after the operation; when the record cannot be
// written the operation's result is that error (reads may be warn-only: WriterOptions).
#pragma once

#include <memory>

#include "audit/log_writer.h"
#include "audit/record.h"

namespace keyward::audit {

// Makes `log` the process's audit log (nullptr: none). Usage counting follows. Thread-safe.
void install(std::shared_ptr<AuditLog> log);
std::shared_ptr<AuditLog> installed();

// Records `event` in the installed log; ok when none. Errors: those of AuditLog::record.
Status record(const Event& event);

// Authentication of data, policy and shredded scopes: the data or the policy said no (a refusal);
// every other category is a failure to do the work.
bool is_refusal(ErrorCategory category);

// Records `error` as a refusal of `op` on `key` (a label or DEK ID) in `scope` when it is one
// (is_refusal), and returns it; if the record cannot be written, that error.
Error record_if_refused(std::string_view op, std::string_view key, std::string_view scope, Error error);

// Records a refusal of data or policy (`error`'s category and message: they never hold secrets),
// then returns `error` for the caller to pass on; if the record cannot be written, that error.
Error record_refusal(std::string op, std::string key, std::string scope, Error error);

}  // namespace keyward::audit
