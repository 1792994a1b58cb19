#include "pkcs11/module.h"

#include <dlfcn.h>

#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#include "pkcs11/rv.h"

namespace keyward::p11 {
namespace {

std::mutex registry_mutex;
std::map<std::pair<std::string, std::string>, std::weak_ptr<Module>>& registry() {
  static std::map<std::pair<std::string, std::string>, std::weak_ptr<Module>> modules;
  return modules;
}

template <class Fn>
Fn find_symbol(void* library, const char* name) {
  void* symbol = dlsym(library, name);
  Fn function;
  static_assert(sizeof function == sizeof symbol);
  std::memcpy(&function, &symbol, sizeof function);  // POSIX: object and function pointers convert
  return function;
}

// PKCS#11 v3.0 §5.2 C_GetInterface: ask for the v2.40 "PKCS 11" interface, whose function table has
// exactly the CK_FUNCTION_LIST layout. Returns nullptr when the module lacks v3.0 discovery.
CK_FUNCTION_LIST* function_list_via_interface(void* library, unsigned& out_major, unsigned& out_minor) {
  auto get_interface = find_symbol<CkGetInterfaceFn>(library, "C_GetInterface");
  if (get_interface == nullptr) return nullptr;
  unsigned char name[] = "PKCS 11";
  CK_VERSION wanted{2, 40};
  Ck3Interface* interface = nullptr;
  if (get_interface(name, &wanted, &interface, 0) != CKR_OK || interface == nullptr) return nullptr;
  auto* functions = static_cast<CK_FUNCTION_LIST*>(interface->pFunctionList);
  if (functions == nullptr) return nullptr;
  out_major = functions->version.major;
  out_minor = functions->version.minor;
  return functions;
}

}  // namespace

std::string from_padded(const unsigned char* field, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(field), size);
  auto end = text.find_last_not_of(" \0", std::string::npos, 2);
  text.erase(end == std::string::npos ? 0 : end + 1);
  return text;
}

Result<std::shared_ptr<Module>> Module::load(const ModuleOptions& options) {
  std::lock_guard lock(registry_mutex);
  auto key = std::make_pair(options.path, options.init_reserved.value_or(""));
  if (auto existing = registry()[key].lock()) return existing;

  // RTLD_NODELETE: modules (and the OpenSSL they link) do not all survive being unloaded and
  // reloaded in one process; keeping the code mapped lets a Module be finalised and re-created.
  void* library = dlopen(options.path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (library == nullptr) {
    const char* why = dlerror();
    return make_error(ErrorCategory::io, "cannot load PKCS#11 module '" + options.path + "': " +
                                             (why ? why : "unknown error") +
                                             " — check module-path in the token URI");
  }

  unsigned major = 2, minor = 0;
  CK_FUNCTION_LIST* functions = function_list_via_interface(library, major, minor);
  if (functions == nullptr) {
    auto get_function_list = find_symbol<CK_C_GetFunctionList>(library, "C_GetFunctionList");
    if (get_function_list == nullptr)
      return make_error(ErrorCategory::io, "'" + options.path + "' is not a PKCS#11 module (no C_GetFunctionList)");
    if (CK_RV rv = get_function_list(&functions); rv != CKR_OK || functions == nullptr)
      return fail(token_error("C_GetFunctionList", rv));
    major = functions->version.major;
    minor = functions->version.minor;
  }

  // PKCS#11 v2.40 §5.4: CKF_OS_LOCKING_OK lets the module use native locks; SoftHSM 2.6 does no
  // locking at all without it (or mutex callbacks). pReserved must be NULL unless the module
  // documents otherwise (NSS softoken reads its configuration from it).
  std::string reserved = options.init_reserved.value_or("");
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  args.pReserved = options.init_reserved ? reserved.data() : nullptr;
  KW_ASSIGN_OR_RETURN(auto state_lock, ModuleStateLock::acquire(options.path));
  CK_RV rv = functions->C_Initialize(&args);
  bool finalize_on_close = true;
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    finalize_on_close = false;  // another library in this process owns the module's lifetime
  } else if (rv != CKR_OK) {
    return fail(token_error("C_Initialize", rv).with_context("module '" + options.path + "'"));
  }

  std::shared_ptr<Module> module(new Module(options, library, functions, finalize_on_close, major, minor));
  registry()[key] = module;
  return module;
}

Module::Module(ModuleOptions options, void* library, CK_FUNCTION_LIST* functions, bool finalize_on_close,
               unsigned version_major, unsigned version_minor)
    : options_(std::move(options)),
      library_(library),
      functions_(functions),
      finalize_on_close_(finalize_on_close),
      interface_major_(version_major),
      interface_minor_(version_minor) {}

Module::~Module() {
  if (finalize_on_close_) functions_->C_Finalize(nullptr);  // nothing useful to do on failure here
  dlclose(library_);  // RTLD_NODELETE keeps the code mapped
}

Result<ModuleInfo> Module::info() const {
  CK_INFO raw{};
  if (CK_RV rv = functions_->C_GetInfo(&raw); rv != CKR_OK) return fail(token_error("C_GetInfo", rv));
  ModuleInfo info;
  info.manufacturer = from_padded(raw.manufacturerID, sizeof raw.manufacturerID);
  info.description = from_padded(raw.libraryDescription, sizeof raw.libraryDescription);
  info.cryptoki_major = interface_major_;
  info.cryptoki_minor = interface_minor_;
  info.library_major = raw.libraryVersion.major;
  info.library_minor = raw.libraryVersion.minor;
  return info;
}

}  // namespace keyward::p11
