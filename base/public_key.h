// A public key read from PEM (SubjectPublicKeyInfo), to check on the CPU what keyward's token keys
// signed: ceremony transcripts and audit checkpoints (ECDSA P-256 with SHA-256, DER signatures).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct evp_pkey_st;

namespace keyward {

class PublicKey {
 public:
  // nullopt: `pem` holds no public key.
  static std::optional<PublicKey> from_pem(std::string_view pem);

  // Hex SHA-256 of the DER SubjectPublicKeyInfo: names the key in records and messages.
  std::string fingerprint() const;
  // Whether `signature` (DER ECDSA) is this key's signature of SHA-256(`message`).
  bool verifies(std::string_view message, std::span<const std::uint8_t> signature) const;

 private:
  struct Free {
    void operator()(evp_pkey_st* key) const;
  };
  explicit PublicKey(evp_pkey_st* key) : key_(key, Free{}) {}
  std::shared_ptr<evp_pkey_st> key_;
};

// Hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

}  // namespace keyward
