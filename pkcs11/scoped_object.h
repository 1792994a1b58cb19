// ScopedObject: destroys a (session) object when the scope ends, on every return path.
// Used for the short-lived key objects keyward makes while wrapping: DEKs, KEK material, canaries.
#pragma once

#include <utility>

#include "pkcs11/session.h"

namespace keyward::p11 {

class ScopedObject {
 public:
  ScopedObject(Session& session, ObjectHandle handle) : session_(session), handle_(handle) {}
  ScopedObject(const ScopedObject&) = delete;
  ScopedObject& operator=(const ScopedObject&) = delete;
  ~ScopedObject() {  // a failure leaves a session object that dies with the session
    if (handle_ != CK_INVALID_HANDLE) (void)session_.destroy_object(handle_);
  }

  ObjectHandle handle() const { return handle_; }
  // Keeps the object: the caller takes it over.
  ObjectHandle release() { return std::exchange(handle_, CK_INVALID_HANDLE); }

 private:
  Session& session_;
  ObjectHandle handle_;
};

}  // namespace keyward::p11
