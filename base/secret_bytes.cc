#include "base/secret_bytes.h"

#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>

namespace keyward {
namespace {

std::atomic<std::size_t> g_secure_heap_bytes{0};
std::atomic<std::uint64_t> g_fallbacks{0};

std::uint8_t* allocate_secret(std::size_t size) {
  if (size == 0) return nullptr;
  // Without a secure heap OPENSSL_secure_zalloc is the normal heap. With one, it returns NULL when
  // the arena has no free block of the size: then the normal heap, deliberately and counted.
  // OPENSSL_secure_clear_free (below) clears and frees blocks of either heap.
  void* memory = OPENSSL_secure_zalloc(size);
  if (memory == nullptr && CRYPTO_secure_malloc_initialized()) {
    g_fallbacks.fetch_add(1, std::memory_order_relaxed);
    memory = OPENSSL_zalloc(size);
  }
  if (memory == nullptr) throw std::bad_alloc();
  return static_cast<std::uint8_t*>(memory);
}

void free_secret(std::uint8_t* data, std::size_t capacity) {
  // Clears before freeing whichever heap the block came from.
  if (data != nullptr) OPENSSL_secure_clear_free(data, capacity);
}

}  // namespace

SecretBytes::SecretBytes(std::size_t size)
    : data_(allocate_secret(size)), size_(size), capacity_(size) {}

SecretBytes SecretBytes::copy_of(std::span<const std::uint8_t> bytes) {
  SecretBytes secret(bytes.size());
  if (!bytes.empty()) std::memcpy(secret.data_, bytes.data(), bytes.size());
  return secret;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
  other.data_ = nullptr;
  other.size_ = other.capacity_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    data_ = other.data_;
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
  }
  return *this;
}

SecretBytes::~SecretBytes() { wipe(); }

SecretBytes SecretBytes::clone() const { return copy_of(reveal()); }

void SecretBytes::shrink_to(std::size_t new_size) {
  if (new_size >= size_) return;
  OPENSSL_cleanse(data_ + new_size, size_ - new_size);
  size_ = new_size;
}

void SecretBytes::wipe() {
  free_secret(data_, capacity_);
  data_ = nullptr;
  size_ = capacity_ = 0;
}

bool SecretBytes::equals(const SecretBytes& other) const {
  if (size_ != other.size_) return false;
  if (size_ == 0) return true;
  return CRYPTO_memcmp(data_, other.data_, size_) == 0;
}

std::size_t secret_heap_size_for(std::size_t threads) {
  constexpr std::size_t kBase = std::size_t{1} << 20, kMost = std::size_t{1} << 28;
  threads = std::clamp<std::size_t>(threads, 1, kMost / (2 * kLargestSecretPerThread));
  return std::min(kMost, std::bit_ceil(kBase + threads * 2 * kLargestSecretPerThread));
}

SecretMemoryStats secret_memory_stats() {
  SecretMemoryStats stats;
  stats.secure_heap_bytes = g_secure_heap_bytes.load();
  stats.secure_heap_used = stats.secure_heap_bytes ? CRYPTO_secure_used() : 0;
  stats.fallbacks = g_fallbacks.load();
  return stats;
}

bool enable_secret_memory_protection(std::size_t threads) {
  static std::once_flag once;
  static bool locked = false;
  std::call_once(once, [threads] {
    // No core dumps of a process that holds keys (the threat model: never in core dumps).
    struct rlimit no_core {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#if defined(KEYWARD_SANITIZE)
    (void)threads;
    locked = false;  // ASan cannot see inside the secure arena; keep secrets on the checked heap.
#else
    // 16-byte minimum blocks. Returns 1 when locked, 2 when the arena exists but mlock was refused
    // (RLIMIT_MEMLOCK), 0 on failure. The old fixed 1 MiB arena could not hold one 600 KB value
    // (a buddy block of 1 MiB) next to a cached DEK: field decrypt threw std::bad_alloc.
    const std::size_t size = secret_heap_size_for(threads ? threads : std::max(1u, std::thread::hardware_concurrency()));
    const int initialised = CRYPTO_secure_malloc_init(size, 16);
    if (initialised != 0) g_secure_heap_bytes = size;
    locked = initialised == 1;
#endif
  });
  return locked;
}

}  // namespace keyward
