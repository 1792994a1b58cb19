// Module: one loaded and initialised PKCS#11 library.
//
// Loads any module by path (dlopen + C_GetInterface where the module has it, else C_GetFunctionList),
// initialises it for multi-threaded callers (CKF_OS_LOCKING_OK: SoftHSM 2.6 does no internal locking
// without it) and finalises it when the last owner lets go. A process holds at most one Module per
// (path, init parameters): load() hands out the live one, because a second C_Initialize would fail.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "pkcs11/ck.h"
#include "base/error.h"
#include "pkcs11/module_state_lock.h"

namespace keyward::p11 {

struct ModuleOptions {
  std::string path;                          // e.g. /usr/lib/softhsm/libsofthsm2.so
  std::optional<std::string> init_reserved;  // C_Initialize pReserved string (NSS softoken needs one)
};

struct ModuleInfo {
  std::string manufacturer;
  std::string description;
  unsigned cryptoki_major = 0, cryptoki_minor = 0;  // the interface version in use
  unsigned library_major = 0, library_minor = 0;
};

class Module {
 public:
  // Loads and initialises the module, or returns the one already loaded with the same options.
  // Errors: io (the library cannot be loaded), token (C_Initialize refused). Thread-safe.
  static Result<std::shared_ptr<Module>> load(const ModuleOptions& options);

  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module();  // C_Finalize (only if this object initialised the module)

  // The PKCS#11 function table. Only code under pkcs11/ calls through it.
  CK_FUNCTION_LIST* functions() const { return functions_; }
  const ModuleOptions& options() const { return options_; }
  Result<ModuleInfo> info() const;
  // Holds other keyward processes off this module's on-disk token state (see module_state_lock.h).
  // Take it around C_Initialize, token discovery, C_Login and token initialisation; never nested.
  Result<ModuleStateLock> lock_token_state() const { return ModuleStateLock::acquire(options_.path); }

 private:
  Module(ModuleOptions options, void* library, CK_FUNCTION_LIST* functions, bool finalize_on_close,
         unsigned version_major, unsigned version_minor);

  ModuleOptions options_;
  void* library_;
  CK_FUNCTION_LIST* functions_;
  bool finalize_on_close_;
  unsigned interface_major_, interface_minor_;
};

// Text fields of PKCS#11 structs are blank-padded, not NUL-terminated.
std::string from_padded(const unsigned char* field, std::size_t size);

}  // namespace keyward::p11
