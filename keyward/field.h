// Field-level encryption of database column values (docs/FIELDS.md), through a Field: one column's
// scope, KEK family, mode and context, made once by Client::field and used for every value.
//
// Each value becomes a compact text that names its DEK; the DEK is the scope's, kept wrapped in the
// catalog and unwrapped in the token once per cache period, never per value. A value decrypts only
// with the context it was encrypted with, and (unless the Field was made with decrypt_any_scope) only
// if its DEK belongs to the Field's scope: a value copied from another tenant's row is refused.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/encryption_context.h"
#include "keyward/error.h"
#include "keyward/export.h"
#include "keyward/key_info.h"

namespace keyward {

enum class FieldMode {
  randomized,     // AES-256-GCM, a fresh nonce per value: reveals nothing but the length
  deterministic,  // AES-256-SIV: equal values give equal texts, so a column can be searched by equality
};

struct FieldOptions {
  // The DEK scope, e.g. "tenant:acme/table:users/column:email". Values are encrypted and looked up
  // under it, and decrypt refuses values of other scopes. Required (not empty), unless
  // decrypt_any_scope is set, and then only decrypt works.
  std::string scope;
  // The KEK family whose newest version wraps the scope's first DEK. Required to encrypt.
  std::string kek_family;
  FieldMode mode = FieldMode::randomized;
  // Bound to every value, e.g. {{"table", "users"}, {"column", "email"}}: decrypt needs the same.
  EncryptionContext context;
  // Decrypt values of any scope (an export or migration job). Encrypt and lookups still need a scope.
  bool decrypt_any_scope = false;
};

struct DecryptedField {
  std::vector<std::uint8_t> value;
  // The value's DEK is under an older KEK version: Client::rewrap_field_key(text) moves it to the
  // newest (lazy re-encryption on read; the value's text does not change).
  bool under_older_kek_version = false;
};

// What to query for to find a value: one per DEK of the scope (a scope gains DEKs when its DEK is
// replaced, and old rows keep the old one).
struct LookupValue {
  std::string text;          // a deterministic value or a blind index, to compare with the stored column
  std::string kek_family;
  std::uint32_t kek_version = 0;
  bool unscoped = false;     // the version 1 value written before scopes were bound (docs/FIELDS.md)
};

namespace internal {
struct FieldCore;
}

// A column's cipher. Cheap to copy (copies share state); safe to use from many threads at once, and
// may live as long as the process: it holds no key itself. Each call takes the scope's keys from the
// client's memory (one unwrap in the token per DEK and cache period), which follows shreds, rewraps
// and the DEK cache's limits; a change made by another process is seen within about a second
// (docs/FIELDS.md, "Keys in memory, and how stale they can be").
class KEYWARD_API Field {
 public:
  // Encrypts one value (at most 64 KiB) with the Field's mode. On the first call the scope's DEK is
  // resolved, and generated in the token and recorded in the catalog if the scope has none.
  // Errors: usage (no kek_family or no scope), not_found (unknown KEK family), policy (value too long),
  // shredded (the scope was crypto-shredded), io (a new scope in a read-only catalog), token.
  Result<std::string> encrypt(std::span<const std::uint8_t> value) const;
  Result<std::string> encrypt(std::string_view value) const { return encrypt(bytes_of(value)); }

  // Decrypts a value text. Errors: corrupt_input (not a value), authentication (wrong context, or the
  // value was altered), policy (a value of another scope), not_found (its DEK is in no catalog entry),
  // shredded. On failure no plaintext is returned.
  Result<DecryptedField> decrypt(std::string_view text) const;

  // The deterministic values of `value` under every DEK of the scope, for `WHERE column IN (...)`.
  // Needs FieldMode::deterministic (usage otherwise). `include_unscoped` adds each DEK's version 1
  // value for rows written before scopes were bound. An empty list: the scope has no DEK yet.
  Result<std::vector<LookupValue>> lookup_values(std::span<const std::uint8_t> value, bool include_unscoped = false) const;
  Result<std::vector<LookupValue>> lookup_values(std::string_view value, bool include_unscoped = false) const {
    return lookup_values(bytes_of(value), include_unscoped);
  }
  // Blind indexes of `value` (HMAC-SHA-256 truncated to `bytes`, 4 to 32) under every DEK of the scope:
  // for a separate index column beside a randomized one. Either mode.
  Result<std::vector<LookupValue>> blind_indexes(std::span<const std::uint8_t> value, std::size_t bytes = 16) const;
  Result<std::vector<LookupValue>> blind_indexes(std::string_view value, std::size_t bytes = 16) const {
    return blind_indexes(bytes_of(value), bytes);
  }

  // Which DEK new values go under (resolving, or creating, it as encrypt does).
  Result<KeyInfo> encryption_key_info() const;
  // The scope's DEKs that lookups cover (empty: none yet).
  Result<std::vector<KeyInfo>> lookup_key_info() const;

  const std::string& scope() const;

 private:
  friend class Client;
  explicit Field(std::shared_ptr<internal::FieldCore> core) : core_(std::move(core)) {}
  static std::span<const std::uint8_t> bytes_of(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
  }
  std::shared_ptr<internal::FieldCore> core_;
};

}  // namespace keyward
