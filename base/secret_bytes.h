// SecretBytes: the only container keyward keeps key bytes and PINs in.
//
// - Storage comes from OpenSSL's secure heap when it is enabled (mlock'ed, excluded from core dumps,
//   guard pages), otherwise from the normal heap; either way it is cleared with OPENSSL_cleanse on
//   destruction, on shrink and on move-from.
// - A full secure heap is not an error: the allocation falls back to the normal heap on purpose
//   (still zeroized; core dumps are off process-wide) and is counted in secret_memory_stats(), so
//   the fallback is visible. Only a failed normal allocation throws std::bad_alloc, as any
//   allocation does; the library's field API turns that into an error value.
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

// The largest secret one thread is expected to hold at a time: a field value of the documented
// maximum (envelope/field.h, 64 KiB) plus its framing byte, rounded up to the secure heap's buddy
// block (a power of two).
inline constexpr std::size_t kLargestSecretPerThread = std::size_t{1} << 17;  // 128 KiB

// Secure heap size for `threads` threads that each hold up to two secrets of the largest size at
// once (one block, plus one for buddy-allocator fragmentation), on top of a 1 MiB base for cached
// DEKs and their subkeys (~32k DEKs). A power of two, as CRYPTO_secure_malloc_init requires; at
// most 256 MiB.
std::size_t secret_heap_size_for(std::size_t threads);

// Turns on OpenSSL's secure heap for SecretBytes (locked pages, no core dump) and marks the process
// non-dumpable, sized by secret_heap_size_for(threads); threads 0 means the machine's hardware
// threads. Only the first call in a process takes effect. A no-op in sanitizer builds. Returns false
// when the OS refused to lock memory (SecretBytes then still work, still zeroized).
bool enable_secret_memory_protection(std::size_t threads = 0);

struct SecretMemoryStats {
  std::size_t secure_heap_bytes = 0;  // 0: no secure heap (not enabled, or a sanitizer build)
  std::size_t secure_heap_used = 0;
  std::uint64_t fallbacks = 0;        // allocations served by the normal heap because the secure one was full
};
// Thread-safe.
SecretMemoryStats secret_memory_stats();

}  // namespace keyward
