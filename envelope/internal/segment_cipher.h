// SegmentCipher: AES-256-GCM for one envelope's segments, on the CPU (OpenSSL EVP, AES-NI).
//
// The cipher is fetched once per process (OpenSSL 3's per-call fetch takes global locks) and each
// SegmentCipher keeps its own contexts with the key already scheduled, so a segment costs one IV
// set plus the AEAD pass. Nonce (12 bytes) = 7-byte per-envelope prefix ‖ u32 segment index (BE) ‖
// last-segment flag; associated data = SHA-256 of the envelope header. Not thread-safe: one per thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "envelope/format.h"
#include "base/error.h"
#include "base/secret_bytes.h"

namespace keyward::envelope {

class SegmentCipher {
 public:
  static Result<SegmentCipher> create(const SecretBytes& segment_key, const std::array<std::uint8_t, kNoncePrefixBytes>& prefix,
                                      const std::array<std::uint8_t, 32>& header_hash);
  SegmentCipher(SegmentCipher&&) noexcept;
  SegmentCipher& operator=(SegmentCipher&&) noexcept;
  ~SegmentCipher();

  // out must hold plain.size() + kTagBytes.
  Status seal(std::uint32_t index, bool last, std::span<const std::uint8_t> plain, std::span<std::uint8_t> out);
  // in = ciphertext ‖ tag; out must hold in.size() - kTagBytes. On failure `out` is zeroed.
  Status open(std::uint32_t index, bool last, std::span<const std::uint8_t> in, std::span<std::uint8_t> out);

 private:
  SegmentCipher() = default;
  struct Contexts;
  std::unique_ptr<Contexts> contexts_;
  std::array<std::uint8_t, kNoncePrefixBytes> prefix_{};
  std::array<std::uint8_t, 32> header_hash_{};
};

// Per-envelope subkeys from the DEK (HKDF-SHA-256 with the envelope's salt).
Result<SecretBytes> derive_segment_key(const SecretBytes& dek, std::span<const std::uint8_t> salt);
Result<std::array<std::uint8_t, kCommitmentBytes>> derive_commitment(const SecretBytes& dek, std::span<const std::uint8_t> salt);
std::array<std::uint8_t, 32> header_hash(std::span<const std::uint8_t> header_bytes);

}  // namespace keyward::envelope
