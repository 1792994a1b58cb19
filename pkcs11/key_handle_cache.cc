#include "pkcs11/key_handle_cache.h"

#include <mutex>

namespace keyward::p11 {

Result<ObjectHandle> find_unique_object(Session& session, std::string_view label, CK_OBJECT_CLASS object_class) {
  AttributeTemplate match;
  match.set_ulong(CKA_CLASS, object_class).set_string(CKA_LABEL, label);
  KW_ASSIGN_OR_RETURN(auto found, session.find_objects(match, 2));
  if (found.empty()) return make_error(ErrorCategory::not_found, "no object labelled '" + std::string(label) + "' on the token");
  if (found.size() > 1)
    return make_error(ErrorCategory::policy, "more than one object labelled '" + std::string(label) +
                                                 "' on the token: refusing to guess (run keyward-ceremony verify)");
  return found.front();
}

Result<ObjectHandle> KeyHandleCache::find(Session& session, std::string_view label, CK_OBJECT_CLASS object_class) {
  auto key = std::make_pair(std::string(label), object_class);
  {
    std::shared_lock lock(mutex_);
    if (auto it = handles_.find(key); it != handles_.end()) return it->second;
  }
  KW_ASSIGN_OR_RETURN(ObjectHandle handle, find_unique_object(session, label, object_class));
  std::unique_lock lock(mutex_);
  ++lookups_;
  handles_[std::move(key)] = handle;
  return handle;
}

void KeyHandleCache::forget(std::string_view label) {
  std::unique_lock lock(mutex_);
  std::erase_if(handles_, [&](const auto& entry) { return entry.first.first == label; });
}

void KeyHandleCache::clear() {
  std::unique_lock lock(mutex_);
  handles_.clear();
}

}  // namespace keyward::p11
