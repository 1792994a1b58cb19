// Client: which keys protect a value or a file, and moving them to the newest KEK version in the token
// (lazy re-encryption on read: the DEK is rewrapped, the data is not re-encrypted).
#include "envelope/field.h"
#include "envelope/key_slots.h"
#include "hierarchy/envelope_keys.h"
#include "keyward/client.h"
#include "keyward/internal/api_guard.h"
#include "keyward/internal/client_core.h"
#include "keyward/internal/key_info_of.h"

namespace keyward {

Result<KeyInfo> Client::field_key_info(std::string_view value_text) const {
  return internal::guarded([&]() -> Result<KeyInfo> {
    KW_ASSIGN_OR_RETURN(auto parsed, envelope::parse_field(value_text));
    KW_ASSIGN_OR_RETURN(auto* keys, core_->key_service());
    KW_ASSIGN_OR_RETURN(auto key, keys->key_for_decryption(parsed.dek_id));
    return internal::key_info_of(key.record, key.under_older_kek_version);
  });
}

Result<KeyInfo> Client::rewrap_field_key(std::string_view value_text) const {
  return internal::guarded([&]() -> Result<KeyInfo> {
    KW_ASSIGN_OR_RETURN(auto parsed, envelope::parse_field(value_text));
    KW_ASSIGN_OR_RETURN(auto* keys, core_->key_service());
    KW_TRY(keys->rewrap_catalog_entry(parsed.dek_id));
    // Read back through the catalog: the DEK now unwraps under the version recorded for it.
    KW_ASSIGN_OR_RETURN(auto key, keys->key_for_decryption(parsed.dek_id));
    return internal::key_info_of(key.record, key.under_older_kek_version);
  });
}

Result<KeyInfo> Client::file_key_info(const std::string& path) const {
  return internal::guarded([&]() -> Result<KeyInfo> {
    KW_ASSIGN_OR_RETURN(auto prefix, envelope::read_envelope_prefix(path));
    auto info = internal::key_info_of(prefix.key_section, prefix.header.dek_id);
    internal::note_newer_version(core_->hierarchy(), info);
    return info;
  });
}

Result<KeyInfo> Client::rewrap_file_key(const std::string& path) const {
  return internal::guarded([&]() -> Result<KeyInfo> {
    KW_ASSIGN_OR_RETURN(auto prefix, envelope::read_envelope_prefix(path));
    const auto& family = prefix.key_section.kek_family;
    KW_ASSIGN_OR_RETURN(std::uint32_t newest, core_->hierarchy().latest_kek_version(family));
    if (newest == 0)
      return make_error(ErrorCategory::not_found, "the token holds no version of KEK family '" + family + "' (wrong token?)");
    KW_TRY(hierarchy::rewrap_envelope_key_section(core_->hierarchy(), path, hierarchy::KekRef{family, newest}));
    KW_ASSIGN_OR_RETURN(auto after, envelope::read_envelope_prefix(path));
    auto info = internal::key_info_of(after.key_section, after.header.dek_id);
    internal::note_newer_version(core_->hierarchy(), info);
    return info;
  });
}

}  // namespace keyward
