// Internal to the C ABI (keyward/keyward_c.h): the kw_client behind the opaque handle, the edge where
// exceptions stop, the per-thread last error, and outputs that kw_free can wipe whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "keyward/keyward.h"
#include "keyward/keyward_c.h"

namespace keyward::c_api {

// Fields made on first use of a (scope, KEK family, mode, context) and kept for the client's life,
// so a value costs a cache lookup, not a Field creation. Safe from many threads (a shared lock for
// hits, an exclusive one to insert). Entries are never removed before the cache is destroyed, so a
// found Field stays valid without a copy; past max_entries new arguments are served by a Field made
// for the call (a Field holds no key: the client's DEK cache does). Each thread also remembers the
// entry it used last, so a thread repeating its arguments skips the hash and the lock.
class FieldCache {
 public:
  static constexpr std::size_t max_entries = 4096;

  // A cached Field, or one made for this call only (the cache was full).
  class Found {
   public:
    explicit Found(const Field* cached) : cached_(cached) {}
    explicit Found(Field uncached) : uncached_(std::move(uncached)) {}
    const Field* operator->() const { return cached_ != nullptr ? cached_ : &*uncached_; }

   private:
    const Field* cached_ = nullptr;
    std::optional<Field> uncached_;
  };

  FieldCache();

  // The field for these C arguments. scope NULL: a reader of any scope (decrypt only). Errors:
  // usage (malformed context array, empty scope or context key), and Client::field's.
  Result<Found> field(const Client& client, const char* scope, const char* kek_family, FieldMode mode,
                      const char* const* context);

 private:
  // The arguments a Field was made for, kept by the cache.
  struct Key {
    FieldMode mode;
    bool any_scope;  // scope NULL
    std::string scope, kek_family;
    std::vector<std::string> context;  // as given: alternating key, value
  };
  // The same arguments as the C caller passed them, with their hash: a lookup copies no string.
  struct Arguments {
    FieldMode mode;
    const char* scope;
    const char* kek_family;
    const char* const* context;
    std::size_t hash;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(const Key& key) const noexcept;
    std::size_t operator()(const Arguments& arguments) const noexcept { return arguments.hash; }
  };
  struct Equal {
    using is_transparent = void;
    bool operator()(const Key& a, const Key& b) const noexcept;
    bool operator()(const Arguments& a, const Key& b) const noexcept;
    bool operator()(const Key& a, const Arguments& b) const noexcept { return (*this)(b, a); }
  };
  static std::size_t hash_of(const Arguments& arguments) noexcept;

  const std::uint64_t id_;  // unique per cache for the process's life: tells threads' memos apart
  std::shared_mutex mutex_;
  std::unordered_map<Key, Field, Hash, Equal> fields_;
};

// The context array as an EncryptionContext. Errors: usage for a key without a value or a key given
// twice (an empty key is refused by Client::field).
Result<EncryptionContext> parse_context(const char* const* context);

// Sets this thread's last error from `error` and returns its status (Error::exit_code()).
int fail(const Error& error);
// Sets this thread's last error to a usage message and returns KW_USAGE.
int usage(std::string_view message);
// Clears this thread's last error (a call that succeeds leaves "").
void clear_last_error() noexcept;

// This thread's last error message ("" after a success); valid until its next kw_ call.
const char* last_error_text() noexcept;

// Wipes and frees what allocate_output returned (nullptr: nothing).
void release_output(void* output) noexcept;

// size bytes the caller releases with kw_free (which wipes them): malloc'd behind a header holding
// the size. nullptr when the heap is exhausted.
void* allocate_output(std::size_t size) noexcept;

// The checks every field encrypt call makes: a client, a scope and a KEK family. KW_OK, or the usage
// status with the message set (prefixed with `call`).
int check_encrypt_arguments(std::string_view call, const kw_client* c, const char* scope, const char* kek);
// The same for decrypt calls: a client, and a scope that is NULL (any) or not empty.
int check_decrypt_arguments(std::string_view call, const kw_client* c, const char* scope);

// Sets this thread's last error to "out of memory" and returns its status.
int out_of_memory();

// Wipes a decrypted value however the call leaves (returned, failed or thrown).
struct WipeOnExit {
  std::vector<std::uint8_t>& bytes;
  ~WipeOnExit();
};

// Sets this thread's last error for the exception being handled; returns its status (1: internal).
int fail_with_current_exception() noexcept;

// Runs a C entry point's body: any exception becomes an internal error (status 1) with a message;
// nothing unwinds into the caller's C frames.
template <class Body>
int guarded(Body&& body) noexcept {
  try {
    clear_last_error();
    return body();
  } catch (...) {
    return fail_with_current_exception();
  }
}

}  // namespace keyward::c_api

// The handle behind kw_client*.
struct kw_client {
  explicit kw_client(keyward::Client opened) : client(std::move(opened)) {}
  keyward::Client client;
  keyward::c_api::FieldCache fields;
};
