// The C ABI's client, errors and memory (keyward/keyward_c.h): kw_open, kw_close, kw_last_error,
// kw_free, and the helpers every C entry point shares. Nothing throws past these files.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "keyward/c_api/c_support.h"

namespace keyward::c_api {
namespace {

// This thread's last failure; kw_last_error hands out its c_str().
thread_local std::string last_error;

// Output allocations carry their size in front so that kw_free can wipe them whole. max_align_t keeps
// the pointer after the header aligned for anything.
struct alignas(std::max_align_t) OutputHeader {
  std::size_t size;
};

void set_last_error(std::string_view message) noexcept {
  try {
    last_error.assign(message);
  } catch (...) {
    last_error.clear();  // no heap for the message: better empty than stale
  }
}

}  // namespace

int fail(const Error& error) {
  set_last_error(std::string(category_name(error.category)) + ": " + error.message);
  return error.exit_code();
}

int usage(std::string_view message) {
  set_last_error(std::string("usage: ") + std::string(message));
  return KW_USAGE;
}

void clear_last_error() noexcept { last_error.clear(); }

int check_encrypt_arguments(std::string_view call, const kw_client* c, const char* scope, const char* kek) {
  if (c == nullptr) return usage(std::string(call) + ": the client is NULL");
  if (scope == nullptr || *scope == '\0')
    return usage(std::string(call) + ": empty scope; name the DEK scope (e.g. tenant:acme/table:users/column:email)");
  if (kek == nullptr || *kek == '\0')
    return usage(std::string(call) + ": empty KEK family; name the KEK that wraps the scope's DEK");
  return KW_OK;
}

int check_decrypt_arguments(std::string_view call, const kw_client* c, const char* scope) {
  if (c == nullptr) return usage(std::string(call) + ": the client is NULL");
  if (scope != nullptr && *scope == '\0')
    return usage(std::string(call) + ": empty scope; name the value's scope, or pass NULL to accept any scope");
  return KW_OK;
}

int out_of_memory() { return fail(Error{ErrorCategory::internal, "out of memory", {}}); }

WipeOnExit::~WipeOnExit() {
  if (!bytes.empty()) explicit_bzero(bytes.data(), bytes.size());
}

int fail_with_current_exception() noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    set_last_error("internal: out of memory");
  } catch (const std::exception& e) {
    set_last_error("internal: unexpected exception inside keyward (a bug)");
    try {
      last_error += std::string(": ") + e.what();
    } catch (...) {
    }
  } catch (...) {
    set_last_error("internal: unexpected exception inside keyward (a bug)");
  }
  return exit_code_for(ErrorCategory::internal);
}

void* allocate_output(std::size_t size) noexcept {
  if (size > SIZE_MAX - sizeof(OutputHeader)) return nullptr;
  auto* header = static_cast<OutputHeader*>(std::malloc(sizeof(OutputHeader) + size));
  if (header == nullptr) return nullptr;
  header->size = size;
  return header + 1;
}

const char* last_error_text() noexcept { return last_error.c_str(); }

void release_output(void* output) noexcept {
  if (output == nullptr) return;
  auto* header = static_cast<OutputHeader*>(output) - 1;
  // The output may be a decrypted value: wipe it (and its size) before the heap reuses it.
  explicit_bzero(header, sizeof(OutputHeader) + header->size);  // glibc's memset, kept by the compiler
  std::free(header);
}

}  // namespace keyward::c_api

using keyward::c_api::guarded;
using keyward::c_api::usage;

extern "C" {

int kw_open(const char* token_uris, const char* catalog, kw_client** out) {
  return guarded([&]() -> int {
    if (out == nullptr) return usage("kw_open: out is NULL");
    *out = nullptr;
    keyward::ClientOptions options;
    if (token_uris != nullptr) {
      std::istringstream words{std::string(token_uris)};
      for (std::string uri; words >> uri;) options.token_uris.push_back(uri);
      // An empty list would silently fall back to $KEYWARD_TOKEN: only NULL asks for that.
      if (options.token_uris.empty())
        return usage("kw_open: token_uris is blank; give one or more PKCS#11 URIs, or NULL for $KEYWARD_TOKEN");
    }
    if (catalog != nullptr) {
      if (*catalog == '\0') return usage("kw_open: catalog is empty; give a file path, or NULL for the default");
      options.catalog = catalog;
    }
    auto client = keyward::Client::open(options);
    if (!client) return keyward::c_api::fail(client.error());
    auto* handle = new (std::nothrow) kw_client(std::move(*client));
    if (handle == nullptr) return keyward::c_api::fail(keyward::Error{keyward::ErrorCategory::internal, "out of memory", {}});
    *out = handle;
    return KW_OK;
  });
}

void kw_close(kw_client* c) {
  try {
    delete c;
  } catch (...) {  // destructors do not throw; the boundary holds even if one did
  }
}

const char* kw_last_error(void) { return keyward::c_api::last_error_text(); }

void kw_free(void* p) { keyward::c_api::release_output(p); }

}  // extern "C"
