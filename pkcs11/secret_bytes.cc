#include "pkcs11/secret_bytes.h"

#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>

namespace keyward {
namespace {

std::uint8_t* allocate_secret(std::size_t size) {
  if (size == 0) return nullptr;
  // Falls back to the normal heap by itself when the secure heap is not initialised or is full.
  void* memory = OPENSSL_secure_zalloc(size);
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

bool enable_secret_memory_protection() {
  static std::once_flag once;
  static bool locked = false;
  std::call_once(once, [] {
    // No core dumps of a process that holds keys (the threat model: never in core dumps).
    struct rlimit no_core {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#if defined(KEYWARD_SANITIZE)
    locked = false;  // ASan cannot see inside the secure arena; keep secrets on the checked heap.
#else
    // 1 MiB arena, 16-byte minimum blocks: room for ~32k cached 32-byte DEKs. Returns 1 when locked,
    // 2 when the arena exists but mlock was refused (RLIMIT_MEMLOCK), 0 on failure.
    locked = CRYPTO_secure_malloc_init(1u << 20, 16) == 1;
#endif
  });
  return locked;
}

}  // namespace keyward
