// TokenSigner: signs with a private key held in the token, through libp11 and OpenSSL (EVP_PKEY).
//
// libp11 loads the same module in this process. Two of its habits matter: PKCS11_CTX_unload calls
// C_Finalize unconditionally, and releasing its slots calls C_CloseAllSessions — either would log
// out every keyward session and invalidate every handle. So a TokenSigner's libp11 context lives
// until the process exits and is never unloaded (its memory is reclaimed by the OS).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/secret_bytes.h"
#include "pkcs11/token.h"

namespace keyward::p11 {

class TokenSigner {
 public:
  // Finds the private key labelled `key_label` on `token` (logging in with `pin`) through libp11.
  static Result<std::unique_ptr<TokenSigner>> open(const Token& token, const SecretBytes& pin, std::string_view key_label);
  ~TokenSigner();
  TokenSigner(const TokenSigner&) = delete;
  TokenSigner& operator=(const TokenSigner&) = delete;

  // ECDSA (P-256) over SHA-256 of `data`, DER-encoded. Thread-compatible: one signer per thread.
  Result<std::vector<std::uint8_t>> sign(std::span<const std::uint8_t> data);
  // The matching public key, PEM (SubjectPublicKeyInfo).
  const std::string& public_key_pem() const { return public_key_pem_; }

 private:
  TokenSigner() = default;
  struct State;
  std::unique_ptr<State> state_;
  std::string public_key_pem_;
};

}  // namespace keyward::p11
