#include "keyward/internal/field_core.h"

namespace keyward::internal {
namespace {

Status needs_scope(const FieldOptions& options, const char* what) {
  if (options.scope.empty())
    return make_error(ErrorCategory::usage, std::string(what) + " needs a scope: this Field was made with an empty "
                                                                "FieldOptions::scope (decrypt_any_scope)");
  return {};
}

}  // namespace

FieldCore::FieldCore(std::shared_ptr<ClientCore> client_core, hierarchy::KeyService& key_service, FieldOptions field_options)
    : client(std::move(client_core)),
      keys(key_service),
      options(std::move(field_options)),
      suite(options.mode == FieldMode::deterministic ? envelope::FieldSuite::deterministic : envelope::FieldSuite::randomized),
      context(options.context),
      expected_scope(options.decrypt_any_scope ? std::nullopt : std::optional(options.scope)) {}

Result<const hierarchy::ScopeKey*> FieldCore::encryption_key() {
  if (const auto* ready = encryption_key_ready_.load(std::memory_order_acquire)) return ready;
  KW_TRY(needs_scope(options, "encrypt"));
  if (options.kek_family.empty())
    return make_error(ErrorCategory::usage, "encrypt needs FieldOptions::kek_family: the KEK family a new scope's DEK goes under");
  std::lock_guard lock(pin_mutex_);
  if (encryption_key_) return &*encryption_key_;
  KW_ASSIGN_OR_RETURN(auto key, keys.key_for_encryption(options.scope, options.kek_family));
  encryption_key_.emplace(std::move(key));
  encryption_key_ready_.store(&*encryption_key_, std::memory_order_release);
  return &*encryption_key_;
}

Result<const std::vector<hierarchy::ScopeKey>*> FieldCore::lookup_keys() {
  if (const auto* ready = lookup_keys_ready_.load(std::memory_order_acquire)) return ready;
  KW_TRY(needs_scope(options, "a lookup"));
  static const std::vector<hierarchy::ScopeKey> kNone;
  std::lock_guard lock(pin_mutex_);
  if (lookup_keys_) return &*lookup_keys_;
  KW_ASSIGN_OR_RETURN(auto found, keys.keys_of_scope(options.scope));
  if (found.empty()) return &kNone;  // not pinned: the scope's first DEK may come later
  lookup_keys_.emplace(std::move(found));
  lookup_keys_ready_.store(&*lookup_keys_, std::memory_order_release);
  return &*lookup_keys_;
}

}  // namespace keyward::internal
