// ModuleStateLock: one process at a time through the calls that make a module read or rewrite its
// on-disk token state (C_Initialize, slot and token discovery, C_Login, C_InitToken, C_InitPIN).
//
// Why: SoftHSM 2.6.1 rewrites token.object on every C_Login and releases its file lock before the
// write reaches the file (File::~File unlocks, then fclose flushes). Another process that reads the
// token in that window sees an empty or partial token.object: "no token", or CKR_GENERAL_ERROR from
// C_GetTokenInfo (SoftHSMv2 #757 reports the same under parallel use). keyward processes that share a
// module therefore take this advisory lock, so they never race each other there. Processes outside
// keyward are not covered; docs/ROTATION.md says what that means.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/error.h"

namespace keyward::p11 {

class ModuleStateLock {
 public:
  // Blocks until no other keyward process of this user holds the lock for `module_path`, at most
  // `patience`. The lock file lives in $KEYWARD_LOCK_DIR, else $XDG_RUNTIME_DIR/keyward, else
  // /tmp/keyward-UID; the directory must be the user's own and not writable by others.
  // Errors: io (directory unsafe or lock file unusable), token (still held after `patience`).
  static Result<ModuleStateLock> acquire(const std::string& module_path,
                                         std::chrono::milliseconds patience = std::chrono::seconds(60));

  ModuleStateLock(ModuleStateLock&& other) noexcept;
  ModuleStateLock& operator=(ModuleStateLock&& other) noexcept;
  ModuleStateLock(const ModuleStateLock&) = delete;
  ModuleStateLock& operator=(const ModuleStateLock&) = delete;
  ~ModuleStateLock();  // releases the lock
  void release() noexcept;  // releases it early

  // The lock file for `module_path` (for messages and tests).
  static Result<std::string> path_for(const std::string& module_path);

  // A lock of the same kind (flock, same private directory) for another purpose: the file
  // `<dir>/<name>.lock`, `name` made of [A-Za-z0-9._-]. `purpose` names it in the timeout error.
  // The hierarchy uses it to make "choose the next key version and create it" atomic.
  static Result<ModuleStateLock> acquire_named(const std::string& name, std::string_view purpose,
                                               std::chrono::milliseconds patience = std::chrono::seconds(60));

 private:
  explicit ModuleStateLock(int fd) : fd_(fd) {}
  static Result<ModuleStateLock> acquire_file(const std::string& name, std::chrono::milliseconds patience,
                                              const std::string& purpose);
  int fd_ = -1;
};

}  // namespace keyward::p11
