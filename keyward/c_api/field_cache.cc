// The C ABI's Field cache and context arrays (keyward/c_api/c_support.h).
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "keyward/c_api/c_support.h"

namespace keyward::c_api {
namespace {

Error usage_error(std::string message) { return Error{ErrorCategory::usage, std::move(message), {}}; }

// Appends `text` with its length in front, so that no two argument lists make the same key.
void append_part(std::string& key, std::string_view text) {
  const std::size_t length = text.size();
  key.append(reinterpret_cast<const char*>(&length), sizeof length);
  key.append(text);
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

Result<Field> FieldCache::field(const Client& client, const char* scope, const char* kek_family, FieldMode mode,
                                const char* const* context) {
  // The key is the arguments as given (a context in another order is another entry, the same Field).
  // Built in a per-thread buffer: a hit allocates nothing.
  thread_local std::string key;
  key.clear();
  key.push_back(mode == FieldMode::deterministic ? 'd' : 'r');
  key.push_back(scope == nullptr ? '*' : 's');
  append_part(key, scope == nullptr ? "" : scope);
  append_part(key, kek_family == nullptr ? "" : kek_family);
  if (context != nullptr) {
    for (std::size_t i = 0; context[i] != nullptr; ++i) append_part(key, context[i]);
  }
  {
    std::shared_lock lock(mutex_);
    if (auto found = fields_.find(std::string_view(key)); found != fields_.end()) return found->second;
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
  if (!made) return made;

  std::unique_lock lock(mutex_);
  if (fields_.size() >= max_entries) fields_.clear();
  fields_.try_emplace(key, *made);  // another thread may have made the same one: either will do
  return made;
}

}  // namespace keyward::c_api
