#include "hierarchy/wrapped_key_errors.h"

#include <string>

namespace keyward::hierarchy {

Result<p11::ObjectHandle> as_wrapped_key_failure(Result<p11::ObjectHandle> unwrapped, std::string_view what) {
  if (unwrapped || !unwrapped.error().ck_rv) return unwrapped;
  const unsigned long rv = *unwrapped.error().ck_rv;
  if (rv != CKR_GENERAL_ERROR && rv != CKR_WRAPPED_KEY_INVALID && rv != CKR_ENCRYPTED_DATA_INVALID &&
      rv != CKR_WRAPPED_KEY_LEN_RANGE)
    return unwrapped;
  Error error = std::move(unwrapped).error();
  error.category = ErrorCategory::authentication;
  error.message = std::string(what) +
                  " failed its integrity check (RFC 3394 key unwrap): it was altered, or it is not wrapped under "
                  "this key (" + error.message + ")";
  return fail(std::move(error));
}

}  // namespace keyward::hierarchy
