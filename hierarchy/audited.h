// Audit hooks of the key hierarchy: every token operation on keyward keys leaves a record (audit/).
//
// `audited(result, event)` records the operation's outcome — ok; refused (authentication, policy,
// shredded: the data or the policy said no); failed (anything else) with the error's category and
// message, which never hold secrets — and passes the result on. If the record cannot be written, the
// operation fails with that error (a read may be set to warn only: audit::WriterOptions).
#pragma once

#include <utility>

#include "audit/recorder.h"
#include "base/error.h"

namespace keyward::hierarchy {

inline audit::Event with_outcome(audit::Event event, const Error* error) {
  if (error != nullptr) {
    event.outcome = audit::is_refusal(error->category) ? "refused" : "failed";
    event.details["category"] = std::string(category_name(error->category));
    event.details["reason"] = error->message;
  }
  return event;
}

// The same, with `describe(value, event)` adding what is known only after success (a new version).
template <class T, class Describe>
Result<T> audited(Result<T> result, audit::Event event, Describe describe) {
  if (result) describe(*result, event);
  Status written = audit::record(with_outcome(std::move(event), result ? nullptr : &result.error()));
  if (!written && result) return std::unexpected(std::move(written).error());
  return result;
}

template <class T>
Result<T> audited(Result<T> result, audit::Event event) {
  Status written = audit::record(with_outcome(std::move(event), result ? nullptr : &result.error()));
  if (!written && result) return std::unexpected(std::move(written).error());
  return result;
}

}  // namespace keyward::hierarchy
