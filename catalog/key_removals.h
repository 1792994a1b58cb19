// A process-wide count of catalog changes that take keys away (a scope crypto-shredded).
//
// Every Catalog implementation calls note_key_removal() after committing such a change, and holders
// of keys derived from catalog entries (KeyService's in-memory keys) compare key_removals() on every
// use: within one process a shred takes effect at once, whichever Catalog object committed it. A
// change committed by another process is not counted here; KeyService re-reads the catalog at a
// bounded interval for those (keyward/internal/key_service.h, "Staleness").
#pragma once

#include <atomic>
#include <cstdint>

namespace keyward::hierarchy {

namespace detail {
inline std::atomic<std::uint64_t> key_removal_count{0};
}  // namespace detail

inline void note_key_removal() { detail::key_removal_count.fetch_add(1, std::memory_order_acq_rel); }
inline std::uint64_t key_removals() { return detail::key_removal_count.load(std::memory_order_acquire); }

}  // namespace keyward::hierarchy
