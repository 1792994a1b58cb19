// Anchor: what ties an audit log to a token — the signature on checkpoints and the head the token
// keeps (the latest checkpoint's seq and hash), so that cutting records off the log's end is seen.
// TokenAnchor (token_anchor.h) is the one implementation; the interface keeps the log writer free of
// PKCS#11 and lets the verifier be given a key and head read by other means (an auditor's copy).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace keyward::audit {

// The latest checkpoint of one log: its seq and the hash of its line.
struct Head {
  std::uint64_t seq = 0;
  std::string hash;
};

class Anchor {
 public:
  virtual ~Anchor() = default;
  // The token's serial number, recorded in every record's `who`.
  virtual const std::string& token_serial() const = 0;
  // The checkpoint key's public half (PEM SubjectPublicKeyInfo).
  virtual const std::string& public_key_pem() const = 0;
  // ECDSA P-256 / SHA-256 of `data` in the token, DER. Errors: token.
  virtual Result<std::vector<std::uint8_t>> sign(std::span<const std::uint8_t> data) = 0;
  // Replaces the head of log `log_id` (only ever with a later seq: the caller holds the log's lock).
  virtual Status store_head(std::string_view log_id, const Head& head) = 0;
  // The head of log `log_id`; nullopt if the token keeps none for it.
  virtual Result<std::optional<Head>> load_head(std::string_view log_id) = 0;
};

}  // namespace keyward::audit
