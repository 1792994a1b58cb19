// Per-DEK usage counters: how field and stream work is audited without a record per value.
//
// The hot path holds a UsageCounter* (taken once, when its key is loaded) and adds to it with relaxed
// atomic increments; the installed AuditLog writes one `usage` record per DEK used in each interval
// (every second by default, and at exit), with the counts, and resets them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace keyward::audit {

struct UsageCounter {
  // Adds one operation of `bytes` bytes. Lock-free; any thread.
  void add_encryption(std::uint64_t length) {
    encryptions.fetch_add(1, std::memory_order_relaxed);
    bytes.fetch_add(length, std::memory_order_relaxed);
  }
  void add_decryption(std::uint64_t length) {
    decryptions.fetch_add(1, std::memory_order_relaxed);
    bytes.fetch_add(length, std::memory_order_relaxed);
  }

  std::atomic<std::uint64_t> encryptions{0};
  std::atomic<std::uint64_t> decryptions{0};
  std::atomic<std::uint64_t> bytes{0};
  std::string dek_id;  // hex
  std::string scope;
};

// The process's counter of DEK `dek_id` (hex) of `scope`, made on first call and kept for the
// process's life; nullptr when usage counting is off (no audit log installed). Thread-safe.
UsageCounter* usage_counter(std::string_view dek_id, std::string_view scope);

// Turned on by install() (recorder.h) with a log, off with none.
void set_usage_counting(bool on);

// Calls `take` for each counter with a non-zero count, with the counts read and reset to zero.
void drain_usage(const std::function<void(const UsageCounter&, std::uint64_t encryptions, std::uint64_t decryptions,
                                          std::uint64_t bytes)>& take);

}  // namespace keyward::audit
