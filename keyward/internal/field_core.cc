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

Result<hierarchy::ScopeKeyRef> FieldCore::encryption_key(std::uint64_t bytes) const {
  KW_TRY(needs_scope(options, "encrypt"));
  if (options.kek_family.empty())
    return make_error(ErrorCategory::usage, "encrypt needs FieldOptions::kek_family: the KEK family a new scope's DEK goes under");
  return keys.shared_key_for_encryption(options.scope, options.kek_family, bytes);
}

Result<std::vector<hierarchy::ScopeKey>> FieldCore::lookup_keys() const {
  KW_TRY(needs_scope(options, "a lookup"));
  return keys.keys_of_scope(options.scope);
}

}  // namespace keyward::internal
