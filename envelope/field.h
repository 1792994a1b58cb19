// Field-level encryption for database columns: compact self-describing text values.
//
// Value = base64url(version ‖ suite ‖ DEK ID (16) ‖ body) with
//   suite 1, randomized:    body = nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)
//   suite 2, deterministic: body = SIV (16) ‖ AES-SIV ciphertext of 0x00 ‖ value (RFC 5297, AES-256-SIV)
// The first 18 bytes (version, suite, DEK ID) and the canonical encoding of the caller's context
// (envelope/format.h) are associated data. Blind indexes are HMAC-SHA-256 truncated. Each suite has
// its own subkey derived from the DEK with HKDF, so one DEK never serves two algorithms. docs/FIELDS.md
// explains what to bind and what each suite leaks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "envelope/format.h"
#include "pkcs11/error.h"
#include "pkcs11/secret_bytes.h"

namespace keyward::envelope {

enum class FieldSuite : std::uint8_t { randomized = 1, deterministic = 2 };
inline constexpr std::uint8_t kFieldVersion = 1;

struct ParsedField {
  std::uint8_t version = kFieldVersion;
  FieldSuite suite = FieldSuite::randomized;
  DekId dek_id{};
  std::vector<std::uint8_t> header;  // the 18 authenticated header bytes
  std::vector<std::uint8_t> body;
};

// A context encoded once (e.g. per column) for the hot path.
struct EncodedContext {
  explicit EncodedContext(const EncryptionContext& context) : bytes(encode_context(context)) {}
  static EncodedContext of(const EncryptionContext& context) { return EncodedContext(context); }
  std::vector<std::uint8_t> bytes;
};

// Parses a value's header without any key. Errors: corrupt_input (bad text, unknown version/suite,
// too short).
Result<ParsedField> parse_field(std::string_view text);

// The subkeys of one DEK, derived once. Immutable after construction: safe to share between threads.
class FieldKey {
 public:
  static Result<FieldKey> derive(const SecretBytes& dek, const DekId& dek_id);

  const DekId& dek_id() const { return dek_id_; }

  // Encrypts `plain` with the suite; the library draws the nonce for the randomized suite.
  Result<std::string> encrypt(std::span<const std::uint8_t> plain, FieldSuite suite, const EncodedContext& context) const;
  Result<std::string> encrypt(std::span<const std::uint8_t> plain, FieldSuite suite, const EncryptionContext& context) const {
    return encrypt(plain, suite, EncodedContext::of(context));
  }
  // Decrypts a parsed value made under this key. Errors: authentication (wrong context, key or
  // altered value); usage if the value names another DEK.
  Result<SecretBytes> decrypt(const ParsedField& field, const EncodedContext& context) const;
  Result<SecretBytes> decrypt(const ParsedField& field, const EncryptionContext& context) const {
    return decrypt(field, EncodedContext::of(context));
  }
  // HMAC-SHA-256(index key, context ‖ value) truncated to `length` bytes (4 to 32), base64url.
  Result<std::string> blind_index(std::span<const std::uint8_t> value, const EncryptionContext& context,
                                  std::size_t length = 16) const;

 private:
  FieldKey() = default;
  class ContextPool;  // AES-GCM / AES-SIV contexts keyed once, lent to one call at a time
  DekId dek_id_{};
  SecretBytes gcm_key_, siv_key_, index_key_;
  std::shared_ptr<ContextPool> sealers_, openers_, siv_sealers_, siv_openers_;
};

}  // namespace keyward::envelope
