// VersionLock: makes "choose the next key version, create it" atomic across keyward processes.
//
// Without it two concurrent `keyward-ceremony kek create F` (or `keyward-rotate start --kek F`) both
// see v1 as the newest, both create a different key labelled keyward/kek/F/v2, and every later
// lookup of that label fails with "more than one object". The lock is a flock on a file in
// keyward's private lock directory (the mechanism of pkcs11/module_state_lock.h), one per token and
// key series, so it also excludes threads of one process that use separate connections. It is held
// only around a version choice and the token calls that create that version; it is never taken
// while the module lock is held (the module lock may be taken inside it, by a reconnect's login,
// never the other way round), so the two cannot deadlock. Processes outside keyward are not
// covered: the creators check after creating that the label is unique (see kek.cc, root.cc).
#pragma once

#include <string_view>

#include "pkcs11/connection.h"
#include "base/error.h"
#include "pkcs11/module_state_lock.h"

namespace keyward::hierarchy {

// Blocks until this process holds the version lock of `series` ("root", or "kek/<NAME>") on the
// connection's token. Errors: io (lock directory unusable), token (held by another process for
// more than a minute).
Result<p11::ModuleStateLock> lock_version_series(const p11::Connection& connection, std::string_view series);

// Runs a token scan `scan()` (returning Result<T>) again, up to 5 times, while it fails because an
// object it found vanished before its attributes were read: other processes create and destroy
// objects meanwhile (other families' keys, module probes; SoftHSM then answers
// CKR_OBJECT_HANDLE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID or, when the object's file went away
// mid-read, CKR_GENERAL_ERROR: all three measured with 6 concurrent root creators). Under the version lock, objects of the
// series being created cannot vanish, so a fresh scan is enough.
template <class Scan>
auto rescan_while_objects_vanish(Scan&& scan) -> decltype(scan()) {
  for (int attempt = 1;; ++attempt) {
    auto result = scan();
    if (result || attempt == 5) return result;
    const auto rv = result.error().ck_rv.value_or(CKR_OK);
    if (rv != CKR_OBJECT_HANDLE_INVALID && rv != CKR_ATTRIBUTE_VALUE_INVALID && rv != CKR_GENERAL_ERROR) return result;
  }
}

// The check after creating: fails (ErrorCategory::token, naming the label) if more than one object
// of `object_class` is labelled `label` (a creator outside keyward's lock made one too). The caller
// then destroys the object it just created (a p11::ScopedObject guard), so two never remain.
Status require_sole_object(p11::Session& session, std::string_view label, CK_OBJECT_CLASS object_class);

// Before retrying a creation that failed: fails (ErrorCategory::token, naming the label) if an
// object of `object_class` labelled `label` exists, so a retry never makes a second one.
Status require_no_object(p11::Session& session, std::string_view label, CK_OBJECT_CLASS object_class);

// Creates the object labelled `label` with `create()` (returning Result<p11::ObjectHandle>), asking
// again, up to 5 times, while the module answers with the codes of SoftHSM 2.6.1's known race between
// object creation and object searches on other sessions of the process (SoftHSMv2 issue 573, fixed
// after 2.6.1): CKR_GENERAL_ERROR or CKR_TEMPLATE_INCONSISTENT, plus the two of a vanished object.
// Measured here: 1 in ~40 runs of 6 concurrent root creators. Call it under the version lock only:
// the label is then ours alone, and before each new attempt require_no_object makes sure the failed
// one left nothing, so a retry never makes a second key. A real template error fails 5 times and is
// returned as it is.
template <class Create>
Result<p11::ObjectHandle> create_retrying_module_races(p11::Session& session, std::string_view label,
                                                       CK_OBJECT_CLASS object_class, Create&& create) {
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1) KW_TRY(require_no_object(session, label, object_class));
    auto created = create();
    if (created || attempt == 5) return created;
    const auto rv = created.error().ck_rv.value_or(CKR_OK);
    if (rv != CKR_GENERAL_ERROR && rv != CKR_TEMPLATE_INCONSISTENT && rv != CKR_OBJECT_HANDLE_INVALID &&
        rv != CKR_ATTRIBUTE_VALUE_INVALID)
      return created;
  }
}

}  // namespace keyward::hierarchy
