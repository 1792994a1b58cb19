// Field-level encryption for database columns: compact self-describing text values.
//
// Value = base64url(version ‖ suite ‖ DEK ID (16) ‖ body) with
//   suite 1, randomized:    body = nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)
//   suite 2, deterministic: body = SIV (16) ‖ AES-SIV ciphertext of 0x00 ‖ value (RFC 5297, AES-256-SIV)
// The first 18 bytes (version, suite, DEK ID), in version 2 the DEK's scope (u16 length ‖ bytes),
// and the canonical encoding of the caller's context (envelope/format.h) are associated data.
// Version 1 values (no scope bound) still decrypt; new values are version 2. Values hold at most
// kMaxFieldValueBytes of plaintext. Blind indexes are HMAC-SHA-256 truncated. Each suite has
// its own subkey derived from the DEK with HKDF, so one DEK never serves two algorithms. docs/FIELDS.md
// explains what to bind and what each suite leaks.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "envelope/format.h"
#include "base/error.h"
#include "base/secret_bytes.h"

namespace keyward::envelope {

enum class FieldSuite : std::uint8_t { randomized = 1, deterministic = 2 };
// Version 1: no scope in the associated data. Version 2 (written since issue 9): the DEK's scope is.
inline constexpr std::uint8_t kFieldVersionUnscoped = 1;
inline constexpr std::uint8_t kFieldVersion = 2;
// The largest plaintext a field value may hold (docs/FIELDS.md). Larger values are refused at
// encrypt (policy error); a value text that would decode to more is corrupt input. It bounds the
// secret memory one call needs (pkcs11/secret_bytes.h sizes the secure heap for it).
inline constexpr std::size_t kMaxFieldValueBytes = 64 * 1024;
// The longest value text: suite 1 of a maximal value (header 18 + nonce 12 + value + tag 16 bytes;
// suite 2 adds 17), base64url without padding.
inline constexpr std::size_t kMaxFieldTextBytes = ((18 + 12 + kMaxFieldValueBytes + 16) * 4 + 2) / 3;

struct ParsedField {
  std::uint8_t version = kFieldVersion;
  FieldSuite suite = FieldSuite::randomized;
  DekId dek_id{};
  std::vector<std::uint8_t> header;  // the 18 authenticated header bytes
  std::vector<std::uint8_t> body;
};

// A context encoded once (e.g. per column) for the hot path.
// Context keys may not be empty (docs/FIELDS.md): encrypt and decrypt refuse such a context.
struct EncodedContext {
  explicit EncodedContext(const EncryptionContext& context)
      : bytes(encode_context(context)), has_empty_key(context.contains("")) {}
  static EncodedContext of(const EncryptionContext& context) { return EncodedContext(context); }
  std::vector<std::uint8_t> bytes;
  bool has_empty_key = false;
};

// Parses a value's header without any key. Errors: corrupt_input (bad or non-canonical text,
// unknown version/suite, too short, longer than kMaxFieldTextBytes).
Result<ParsedField> parse_field(std::string_view text);

// The subkeys of one DEK, derived once, and the DEK's scope. Immutable after construction: safe to
// share between threads. Encrypt and decrypt never throw: a failed allocation is an internal error.
class FieldKey {
 public:
  // `scope` is the DEK's scope as the catalog records it (at most 65535 bytes); version 2 values
  // bind it, so a value only decrypts under a key derived for the same scope.
  static Result<FieldKey> derive(const SecretBytes& dek, const DekId& dek_id, std::string_view scope = {});

  const DekId& dek_id() const { return dek_id_; }
  const std::string& scope() const { return scope_; }

  // Encrypts `plain` (at most kMaxFieldValueBytes, else a policy error) with the suite as a
  // version 2 value; the library draws the nonce for the randomized suite. `version`
  // kFieldVersionUnscoped makes the value of older releases (for lookups of old deterministic values).
  Result<std::string> encrypt(std::span<const std::uint8_t> plain, FieldSuite suite, const EncodedContext& context,
                              std::uint8_t version = kFieldVersion) const;
  Result<std::string> encrypt(std::span<const std::uint8_t> plain, FieldSuite suite, const EncryptionContext& context,
                              std::uint8_t version = kFieldVersion) const {
    return encrypt(plain, suite, EncodedContext::of(context), version);
  }
  // Decrypts a parsed value made under this key. Errors: authentication (wrong context, key, scope
  // (version 2) or altered value); usage if the value names another DEK.
  Result<SecretBytes> decrypt(const ParsedField& field, const EncodedContext& context) const;
  Result<SecretBytes> decrypt(const ParsedField& field, const EncryptionContext& context) const {
    return decrypt(field, EncodedContext::of(context));
  }
  // HMAC-SHA-256(index key, context ‖ value) truncated to `length` bytes (4 to 32), base64url.
  Result<std::string> blind_index(std::span<const std::uint8_t> value, const EncryptionContext& context,
                                  std::size_t length = 16) const;

 private:
  FieldKey() = default;
  Result<std::string> encrypt_unguarded(std::span<const std::uint8_t> plain, FieldSuite suite,
                                        const EncodedContext& context, std::uint8_t version) const;
  Result<SecretBytes> decrypt_unguarded(const ParsedField& field, const EncodedContext& context) const;
  // The associated data before the context: the header, and for version 2 the scope component.
  std::vector<std::uint8_t> header_aad(std::span<const std::uint8_t> header) const;
  // header_aad of a parsed value's header, from aad_prefixes_ when it is one this key writes;
  // otherwise built into `storage`.
  const std::vector<std::uint8_t>& aad_prefix(std::span<const std::uint8_t> header, std::vector<std::uint8_t>& storage) const;
  static std::size_t prefix_index(std::uint8_t version, FieldSuite suite) {
    return (version == kFieldVersionUnscoped ? 0u : 2u) + (suite == FieldSuite::randomized ? 0u : 1u);
  }

  class ContextPool;  // AES-GCM / AES-SIV contexts keyed once, lent to one call at a time
  DekId dek_id_{};
  std::string scope_;
  std::vector<std::uint8_t> scope_aad_;  // u16 length ‖ scope
  std::array<std::vector<std::uint8_t>, 4> aad_prefixes_;  // header_aad per (version, suite): prefix_index
  SecretBytes gcm_key_, siv_key_, index_key_;
  std::shared_ptr<ContextPool> sealers_, openers_, siv_sealers_, siv_openers_;
};

}  // namespace keyward::envelope
