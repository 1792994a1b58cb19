#include "envelope/internal/nonce_source.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>

namespace keyward::envelope {
namespace {

// Bumped in the child after fork(): every thread-local buffer filled before it is stale. (getpid()
// per call would work too, but a system call costs ~2 µs in this sandbox — measured.)
std::atomic<std::uint64_t> fork_generation{1};

void register_fork_handler() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); }); });
}

struct NonceBuffer {
  std::array<std::uint8_t, 4096> bytes{};
  std::size_t used = sizeof(bytes);
  std::uint64_t generation = 0;
  ~NonceBuffer() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

}  // namespace

Status fill_nonce(std::span<std::uint8_t> out) {
  thread_local NonceBuffer buffer;
  if (out.size() > buffer.bytes.size()) return make_error(ErrorCategory::internal, "nonce too long");
  const std::uint64_t generation = fork_generation.load(std::memory_order_acquire);
  if (buffer.generation != generation || buffer.used + out.size() > buffer.bytes.size()) {
    register_fork_handler();
    if (RAND_bytes(buffer.bytes.data(), static_cast<int>(buffer.bytes.size())) != 1)
      return make_error(ErrorCategory::internal, "OpenSSL's random generator failed");
    buffer.used = 0;
    buffer.generation = fork_generation.load(std::memory_order_acquire);
  }
  std::memcpy(out.data(), buffer.bytes.data() + buffer.used, out.size());
  // Each slice is handed out once: clear it so no later read of the buffer can repeat it.
  OPENSSL_cleanse(buffer.bytes.data() + buffer.used, out.size());
  buffer.used += out.size();
  return {};
}

}  // namespace keyward::envelope
