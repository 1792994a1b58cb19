#include "hierarchy/envelope_keys.h"

#include <openssl/rand.h>

#include "envelope/key_slots.h"

namespace keyward::hierarchy {

Result<DataKey> new_data_key(KeyHierarchy& hierarchy, std::string_view kek_family) {
  KW_ASSIGN_OR_RETURN(std::uint32_t version, hierarchy.latest_kek_version(kek_family));
  if (version == 0)
    return make_error(ErrorCategory::not_found, "no KEK family '" + std::string(kek_family) +
                                                    "' on the token: create it with keyward-ceremony kek create " +
                                                    std::string(kek_family));
  const KekRef ref{std::string(kek_family), version};
  KW_ASSIGN_OR_RETURN(auto fresh, hierarchy.generate_dek(ref));
  DataKey key;
  key.dek = std::move(fresh.plaintext);
  key.section = envelope::KeySection{ref.family, ref.version, std::move(fresh.wrapped)};
  if (RAND_bytes(key.id.data(), static_cast<int>(key.id.size())) != 1)
    return make_error(ErrorCategory::internal, "OpenSSL's random generator failed");
  return key;
}

envelope::DekResolver token_dek_resolver(KeyHierarchy& hierarchy) {
  return [&hierarchy](const envelope::ParsedPrefix& prefix) -> Result<SecretBytes> {
    const auto& section = prefix.key_section;
    const KekRef ref{section.kek_family, section.kek_version};
    auto dek = hierarchy.unwrap_dek_for_cpu(ref, section.wrapped_dek);
    if (!dek && dek.error().category == ErrorCategory::not_found)
      return make_error(ErrorCategory::not_found, "the envelope's DEK is wrapped under " + ref.label() +
                                                      ", which this token does not hold (unknown or retired KEK version, "
                                                      "or the wrong token)");
    return dek;
  };
}

Status rewrap_envelope_key_section(KeyHierarchy& hierarchy, const std::string& path, const KekRef& target) {
  KW_ASSIGN_OR_RETURN(auto prefix, envelope::read_envelope_prefix(path));
  const auto& current = prefix.key_section;
  if (current.kek_family == target.family && current.kek_version == target.version) return {};
  if (current.kek_family != target.family)
    return make_error(ErrorCategory::usage, "'" + path + "' is under KEK family " + current.kek_family + ", not " + target.family);
  KW_ASSIGN_OR_RETURN(auto rewrapped,
                      hierarchy.rewrap_dek_in_token(KekRef{current.kek_family, current.kek_version}, target, current.wrapped_dek));
  envelope::KeySection next{target.family, target.version, std::move(rewrapped)};
  return envelope::replace_key_section_in_place(path, next, &current);
}

}  // namespace keyward::hierarchy
