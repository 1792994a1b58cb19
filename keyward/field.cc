// Field: one column's values — encrypt, decrypt with the scope check, lookups, key information.
#include "keyward/field.h"

#include "audit/recorder.h"
#include "envelope/format.h"
#include "keyward/client.h"
#include "keyward/internal/api_guard.h"
#include "keyward/internal/field_core.h"
#include "keyward/internal/key_info_of.h"

namespace keyward {

Result<Field> Client::field(const FieldOptions& options) const {
  return internal::guarded([&]() -> Result<Field> {
    if (options.scope.empty() && !options.decrypt_any_scope)
      return make_error(ErrorCategory::usage, "empty field scope: name the DEK scope (e.g. "
                                              "tenant:acme/table:users/column:email); only a reader of every scope "
                                              "(decrypt_any_scope) goes without one");
    KW_TRY(envelope::validate_context(options.context));
    KW_ASSIGN_OR_RETURN(auto* keys, core_->key_service());
    return Field(std::make_shared<internal::FieldCore>(core_, *keys, options));
  });
}

Result<std::string> Field::encrypt(std::span<const std::uint8_t> value) const {
  return internal::guarded([&]() -> Result<std::string> {
    KW_ASSIGN_OR_RETURN(auto key, core_->encryption_key(value.size()));
    return key->field_key->encrypt(value, core_->suite, core_->context);
  });
}

Result<DecryptedField> Field::decrypt(std::string_view text) const {
  return internal::guarded([&]() -> Result<DecryptedField> {
    KW_ASSIGN_OR_RETURN(auto parsed, envelope::parse_field(text));
    KW_ASSIGN_OR_RETURN(auto key, core_->keys.shared_key_for_decryption(parsed.dek_id, core_->expected_scope, parsed.body.size()));
    auto plain = key->field_key->decrypt(parsed, core_->context);
    if (!plain)
      return fail(audit::record_if_refused("field.decrypt", envelope::dek_id_hex(parsed.dek_id), key->record.scope, std::move(plain).error()));
    const auto bytes = plain->reveal();
    return DecryptedField{std::vector<std::uint8_t>(bytes.begin(), bytes.end()), key->under_older_kek_version};
  });
}

Result<std::vector<LookupValue>> Field::lookup_values(std::span<const std::uint8_t> value, bool include_unscoped) const {
  return internal::guarded([&]() -> Result<std::vector<LookupValue>> {
    if (core_->options.mode != FieldMode::deterministic)
      return make_error(ErrorCategory::usage, "lookup_values needs a FieldMode::deterministic Field (randomized values "
                                              "never compare equal): use blind_indexes with a separate index column");
    KW_ASSIGN_OR_RETURN(const auto keys, core_->lookup_keys());
    std::vector<LookupValue> out;
    out.reserve(keys.size() * (include_unscoped ? 2 : 1));
    for (const auto& key : keys) {
      KW_ASSIGN_OR_RETURN(auto text, key.field_key->encrypt(value, envelope::FieldSuite::deterministic, core_->context));
      out.push_back(LookupValue{std::move(text), key.record.kek_family, key.record.kek_version, false});
      if (!include_unscoped) continue;
      KW_ASSIGN_OR_RETURN(auto old, key.field_key->encrypt(value, envelope::FieldSuite::deterministic, core_->context,
                                                           envelope::kFieldVersionUnscoped));
      out.push_back(LookupValue{std::move(old), key.record.kek_family, key.record.kek_version, true});
    }
    return out;
  });
}

Result<std::vector<LookupValue>> Field::blind_indexes(std::span<const std::uint8_t> value, std::size_t bytes) const {
  return internal::guarded([&]() -> Result<std::vector<LookupValue>> {
    KW_ASSIGN_OR_RETURN(const auto keys, core_->lookup_keys());
    std::vector<LookupValue> out;
    out.reserve(keys.size());
    for (const auto& key : keys) {
      KW_ASSIGN_OR_RETURN(auto index, key.field_key->blind_index(value, core_->options.context, bytes));
      out.push_back(LookupValue{std::move(index), key.record.kek_family, key.record.kek_version, false});
    }
    return out;
  });
}

Result<KeyInfo> Field::encryption_key_info() const {
  return internal::guarded([&]() -> Result<KeyInfo> {
    KW_ASSIGN_OR_RETURN(auto key, core_->encryption_key());
    return internal::key_info_of(key->record, key->under_older_kek_version);
  });
}

Result<std::vector<KeyInfo>> Field::lookup_key_info() const {
  return internal::guarded([&]() -> Result<std::vector<KeyInfo>> {
    KW_ASSIGN_OR_RETURN(const auto keys, core_->lookup_keys());
    std::vector<KeyInfo> out;
    for (const auto& key : keys) out.push_back(internal::key_info_of(key.record, key.under_older_kek_version));
    return out;
  });
}

const std::string& Field::scope() const { return core_->options.scope; }

}  // namespace keyward
