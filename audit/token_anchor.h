// TokenAnchor: checkpoints signed in the token and the head kept in it.
//
// Objects (labels start with keyward/, shared/INTERFACE.md):
//   keyward/audit/signer — an EC P-256 key pair, made on first use from the explicit templates in
//     audit_key.cc (private half sensitive, non-extractable, sign-only, not copyable or modifiable);
//     it signs checkpoints through libp11 (pkcs11/libp11_signer.h, as the ceremony transcript does);
//   keyward/audit/head — one CKO_DATA object per log (CKA_APPLICATION "keyward audit <log ID>"), private, whose value is
//     {"seq":N,"hash":"…"} of the latest checkpoint. A new head is created before the old one is
//     destroyed, so a crash in between leaves two, and the later seq counts.
#pragma once

#include <memory>

#include "audit/anchor.h"
#include "pkcs11/connection.h"
#include "pkcs11/libp11_signer.h"

namespace keyward::audit {

class TokenAnchor final : public Anchor {
 public:
  // Opens the token's audit signer, creating it when `create_key` and it is missing (under the
  // module's state lock, so two processes make one). Errors: token; not_found without `create_key`.
  // Opens a libp11 context that lives until the process exits (see libp11_signer.h): one per process.
  static Result<std::shared_ptr<TokenAnchor>> open(std::shared_ptr<p11::Connection> connection, bool create_key);

  const std::string& token_serial() const override { return serial_; }
  const std::string& public_key_pem() const override { return signer_->public_key_pem(); }
  Result<std::vector<std::uint8_t>> sign(std::span<const std::uint8_t> data) override;
  Status store_head(std::string_view log_id, const Head& head) override;
  Result<std::optional<Head>> load_head(std::string_view log_id) override;

 private:
  TokenAnchor() = default;
  std::shared_ptr<p11::Connection> connection_;
  std::unique_ptr<p11::TokenSigner> signer_;
  std::string serial_;
};

}  // namespace keyward::audit
