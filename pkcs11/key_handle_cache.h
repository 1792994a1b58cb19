// KeyHandleCache: object handles by label, so hot paths do not call C_FindObjects.
//
// SoftHSM's C_FindObjects scans and decrypts every object (0.18 ms with 25 objects, 18.8 ms with
// 1 025), so a handle is looked up once and reused. Handles die with the login (see Connection);
// SessionPool clears this cache when it reconnects.
#pragma once

#include <atomic>
#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "pkcs11/ck.h"
#include "base/error.h"
#include "pkcs11/session.h"

namespace keyward::p11 {

class KeyHandleCache {
 public:
  // The handle of the single object of class `object_class` labelled `label`. Errors: not_found
  // when there is none; policy when there are several (a duplicate label is a planted-key risk).
  // Thread-safe.
  Result<ObjectHandle> find(Session& session, std::string_view label, CK_OBJECT_CLASS object_class = CKO_SECRET_KEY);

  void forget(std::string_view label);
  void clear();
  std::size_t lookups() const { return lookups_.load(); }  // C_FindObjects calls made, for tests

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::pair<std::string, CK_OBJECT_CLASS>, ObjectHandle, std::less<>> handles_;
  std::atomic<std::size_t> lookups_{0};
};

// The single object of `object_class` labelled `label`, by C_FindObjects (no cache).
Result<ObjectHandle> find_unique_object(Session& session, std::string_view label, CK_OBJECT_CLASS object_class);

}  // namespace keyward::p11
