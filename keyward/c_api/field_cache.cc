// The C ABI's Field cache and context arrays (keyward/c_api/c_support.h).
#include <algorithm>
#include <cstdint>
#include <atomic>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "keyward/c_api/c_support.h"

namespace keyward::c_api {
namespace {

Error usage_error(std::string message) { return Error{ErrorCategory::usage, std::move(message), {}}; }

std::string_view or_empty(const char* text) { return text == nullptr ? std::string_view() : std::string_view(text); }

// Folds one part into the running hash: its length and its first and last 8 bytes. Cheap on purpose
// (hashing whole strings was most of a cached lookup's cost): the cache holds few entries, and the
// lookup compares the whole arguments anyway. Parts are folded one by one, so "ab","c" and "a","bc"
// differ.
std::size_t combine(std::size_t seed, std::string_view part) noexcept {
  std::uint64_t head = 0, tail = 0;
  if (!part.empty()) std::memcpy(&head, part.data(), std::min<std::size_t>(part.size(), 8));
  if (part.size() > 8) std::memcpy(&tail, part.data() + part.size() - 8, 8);
  std::uint64_t h = seed ^ (part.size() * 0x9e3779b97f4a7c15ULL);
  h = (h ^ head) * 0xff51afd7ed558ccdULL;
  h = (h ^ tail) * 0xc4ceb9fe1a85ec53ULL;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

std::size_t seed_of(FieldMode mode, bool any_scope) noexcept {
  return (mode == FieldMode::deterministic ? 2u : 0u) | (any_scope ? 1u : 0u);
}

}  // namespace

Result<EncryptionContext> parse_context(const char* const* context) {
  EncryptionContext parsed;
  if (context == nullptr) return parsed;
  for (std::size_t i = 0; context[i] != nullptr; i += 2) {
    if (context[i + 1] == nullptr)
      return std::unexpected(usage_error(std::string("context key \"") + context[i] +
                                         "\" has no value: the array alternates key, value and ends with NULL"));
    if (!parsed.emplace(context[i], context[i + 1]).second)
      return std::unexpected(usage_error(std::string("context key \"") + context[i] + "\" is given twice"));
  }
  return parsed;
}

std::size_t FieldCache::hash_of(const Arguments& arguments) noexcept {
  std::size_t hash = seed_of(arguments.mode, arguments.scope == nullptr);
  hash = combine(combine(hash, or_empty(arguments.scope)), or_empty(arguments.kek_family));
  if (arguments.context != nullptr)
    for (std::size_t i = 0; arguments.context[i] != nullptr; ++i) hash = combine(hash, arguments.context[i]);
  return hash;
}

std::size_t FieldCache::Hash::operator()(const Key& key) const noexcept {
  std::size_t hash = combine(combine(seed_of(key.mode, key.any_scope), key.scope), key.kek_family);
  for (const auto& part : key.context) hash = combine(hash, part);
  return hash;
}

bool FieldCache::Equal::operator()(const Key& a, const Key& b) const noexcept {
  return a.mode == b.mode && a.any_scope == b.any_scope && a.scope == b.scope && a.kek_family == b.kek_family &&
         a.context == b.context;
}

namespace {

// `text` (NUL-terminated; NULL reads as "") equals `kept`, without measuring `text` first.
bool same(const char* text, const std::string& kept) noexcept {
  if (text == nullptr) return kept.empty();
  return std::strncmp(text, kept.data(), kept.size()) == 0 && text[kept.size()] == '\0';
}

}  // namespace

bool FieldCache::Equal::operator()(const Arguments& a, const Key& b) const noexcept {
  if (a.mode != b.mode || (a.scope == nullptr) != b.any_scope || !same(a.scope, b.scope) ||
      !same(a.kek_family, b.kek_family))
    return false;
  std::size_t i = 0;
  if (a.context != nullptr)
    for (; a.context[i] != nullptr; ++i)
      if (i == b.context.size() || !same(a.context[i], b.context[i])) return false;
  return i == b.context.size();
}

namespace {

// The entry this thread found last (cache id 0: none). Ids are never reused, so a memo of a closed
// client's cache never matches a new one, even at the same address.
struct Memo {
  std::uint64_t cache_id = 0;
  const void* key = nullptr;
  const Field* field = nullptr;
};
thread_local Memo memo;
std::atomic<std::uint64_t> next_cache_id{1};

}  // namespace

FieldCache::FieldCache() : id_(next_cache_id.fetch_add(1, std::memory_order_relaxed)) {}

Result<FieldCache::Found> FieldCache::field(const Client& client, const char* scope, const char* kek_family,
                                            FieldMode mode, const char* const* context) {
  // Keyed by the arguments as given (a context in another order is another entry, the same Field).
  Arguments arguments{mode, scope, kek_family, context, 0};
  if (memo.cache_id == id_ && Equal{}(arguments, *static_cast<const Key*>(memo.key))) return Found(memo.field);
  arguments.hash = hash_of(arguments);
  {
    std::shared_lock lock(mutex_);
    if (auto found = fields_.find(arguments); found != fields_.end()) {
      memo = {id_, &found->first, &found->second};
      return Found(&found->second);
    }
  }

  auto parsed = parse_context(context);
  if (!parsed) return std::unexpected(parsed.error());
  FieldOptions options;
  options.scope = scope == nullptr ? "" : scope;
  options.decrypt_any_scope = scope == nullptr;
  options.kek_family = kek_family == nullptr ? "" : kek_family;
  options.mode = mode;
  options.context = std::move(*parsed);
  auto made = client.field(options);
  if (!made) return std::unexpected(made.error());

  Key key{mode, scope == nullptr, std::string(or_empty(scope)), std::string(or_empty(kek_family)), {}};
  if (context != nullptr)
    for (std::size_t i = 0; context[i] != nullptr; ++i) key.context.emplace_back(context[i]);
  std::unique_lock lock(mutex_);
  if (fields_.size() >= max_entries) return Found(std::move(*made));
  // Another thread may have made the same one: either will do, the first stays.
  const auto [entry, inserted] = fields_.try_emplace(std::move(key), std::move(*made));
  memo = {id_, &entry->first, &entry->second};
  return Found(&entry->second);
}

}  // namespace keyward::c_api
