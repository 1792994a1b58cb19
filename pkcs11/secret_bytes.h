// SecretBytes: the only container keyward keeps key bytes and PINs in.
//
// - Storage comes from OpenSSL's secure heap when it is enabled (mlock'ed, excluded from core dumps,
//   guard pages), otherwise from the normal heap; either way it is cleared with OPENSSL_cleanse on
//   destruction, on shrink and on move-from.
// - Move-only: copying a secret is explicit (clone()).
// - No conversion to std::string, no streaming operator. Reading the bytes goes through reveal(),
//   which is easy to grep for.
// - Comparison is constant-time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace keyward {

class SecretBytes {
 public:
  SecretBytes() = default;
  // `size` zero bytes.
  explicit SecretBytes(std::size_t size);
  // A copy of `bytes` (the caller clears its own copy).
  static SecretBytes copy_of(std::span<const std::uint8_t> bytes);

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  SecretBytes clone() const;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Raw access to the secret. Every use is a place where key bytes leave the container: keep them few.
  std::span<const std::uint8_t> reveal() const { return {data_, size_}; }
  std::span<std::uint8_t> reveal_mutable() { return {data_, size_}; }

  // Drops bytes past `new_size` (cleared first). Never grows.
  void shrink_to(std::size_t new_size);

  // Clears and releases the storage now.
  void wipe();

  // Constant-time equality (CRYPTO_memcmp); sizes are not secret.
  bool equals(const SecretBytes& other) const;

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// Turns on OpenSSL's secure heap for SecretBytes (locked pages, no core dump) and marks the process
// non-dumpable. Safe to call more than once; a no-op in sanitizer builds. Returns false when the OS
// refused to lock memory (SecretBytes then still work, from the normal heap, still zeroized).
bool enable_secret_memory_protection();

}  // namespace keyward
