// DEKs: generated in the token, wrapped under a KEK, unwrapped for the CPU or rewrapped in the token.
#include "hierarchy/key_hierarchy.h"

#include <algorithm>
#include <map>

#include "hierarchy/audited.h"
#include "hierarchy/policy.h"
#include "hierarchy/wrapped_key_errors.h"
#include "pkcs11/scoped_object.h"

namespace keyward::hierarchy {
Result<NewDek> KeyHierarchy::generate_dek(const KekRef& kek) {
  return audited<NewDek>(generate_dek_in_token(kek), {"dek.generate", "ok", kek.label(), kek.family, {}});
}

Result<NewDek> KeyHierarchy::generate_dek_in_token(const KekRef& kek) {
  return pool_->run([&](p11::Session& session) -> Result<NewDek> {
    KW_ASSIGN_OR_RETURN(p11::ObjectHandle kek_key, key_handle(session, kek.label()));
    KW_ASSIGN_OR_RETURN(p11::ObjectHandle dek, session.generate_key(p11::aes_key_gen(), policy::dek_generate_template()));
    p11::ScopedObject destroy(session, dek);  // DEKs are never left in the token
    NewDek out;
    KW_ASSIGN_OR_RETURN(out.wrapped, session.wrap_key(p11::aes_key_wrap(), kek_key, dek));
    KW_ASSIGN_OR_RETURN(out.plaintext, session.extract_key_value(dek));
    return out;
  });
}

Result<SecretBytes> KeyHierarchy::unwrap_dek_for_cpu(const KekRef& kek, std::span<const std::uint8_t> wrapped) {
  return audited<SecretBytes>(unwrap_dek_in_token(kek, wrapped), {"dek.unwrap", "ok", kek.label(), kek.family, {}, /*read=*/true});
}

Result<SecretBytes> KeyHierarchy::unwrap_dek_in_token(const KekRef& kek, std::span<const std::uint8_t> wrapped) {
  return pool_->run([&](p11::Session& session) -> Result<SecretBytes> {
    KW_ASSIGN_OR_RETURN(p11::ObjectHandle kek_key, key_handle(session, kek.label()));
    KW_ASSIGN_OR_RETURN(p11::ObjectHandle dek,
                        as_wrapped_key_failure(session.unwrap_key(p11::aes_key_wrap(), kek_key, wrapped,
                                                                  policy::dek_unwrap_for_cpu_template()),
                                               "the wrapped DEK under " + kek.label()));
    p11::ScopedObject destroy(session, dek);  // DEKs are never left in the token
    return session.extract_key_value(dek);
  });
}

Result<std::vector<std::uint8_t>> KeyHierarchy::rewrap_dek_in_token(const KekRef& from, const KekRef& to,
                                                                    std::span<const std::uint8_t> wrapped) {
  if (from.family != to.family)
    return make_error(ErrorCategory::usage, "a rewrap stays within one KEK family (" + from.family + " → " + to.family + ")");
  const WrappedUnder one[] = {{from.version, wrapped}};
  KW_ASSIGN_OR_RETURN(auto rewrapped, rewrap_deks_in_token(one, to));
  return std::move(rewrapped.front());
}

Result<std::vector<std::vector<std::uint8_t>>> KeyHierarchy::rewrap_deks_in_token(std::span<const WrappedUnder> deks,
                                                                                const KekRef& to) {
  // Probed outside the pooled call: a session copy of a KEK needs it, and probing takes a session too.
  if (options_.session_kek_copies_for_rewrap) KW_TRY(module_profile());
  // Sensitive: the token will not reveal CKA_VALUE; extractable only so it can be wrapped again.
  const auto unwrap_template = policy::dek_unwrap_for_rewrap_template();
  nlohmann::json from_versions = nlohmann::json::array();
  for (const auto& dek : deks)
    if (std::find(from_versions.begin(), from_versions.end(), dek.kek_version) == from_versions.end()) from_versions.push_back(dek.kek_version);
  audit::Event batch{"dek.rewrap-batch", "ok", to.label(), to.family, {{"count", deks.size()}, {"from_versions", from_versions}, {"to_version", to.version}}};
  return audited<std::vector<std::vector<std::uint8_t>>>(pool_->run([&](p11::Session& session) -> Result<std::vector<std::vector<std::uint8_t>>> {
    KW_ASSIGN_OR_RETURN(p11::ObjectHandle new_kek, rewrap_kek_handle(session, to));
    std::map<std::uint32_t, p11::ObjectHandle> old_keks;  // a batch spans one or a few older versions
    std::vector<std::vector<std::uint8_t>> rewrapped;
    rewrapped.reserve(deks.size());
    for (const auto& dek : deks) {
      auto old_kek = old_keks.find(dek.kek_version);
      if (old_kek == old_keks.end()) {
        KW_ASSIGN_OR_RETURN(p11::ObjectHandle handle, rewrap_kek_handle(session, KekRef{to.family, dek.kek_version}));
        old_kek = old_keks.emplace(dek.kek_version, handle).first;
      }
      KW_ASSIGN_OR_RETURN(p11::ObjectHandle inside,
                          as_wrapped_key_failure(session.unwrap_key(p11::aes_key_wrap(), old_kek->second, dek.wrapped, unwrap_template),
                                                 "the wrapped DEK under " + KekRef{to.family, dek.kek_version}.label()));
      p11::ScopedObject destroy(session, inside);  // DEKs are never left in the token
      KW_ASSIGN_OR_RETURN(auto wrapped, session.wrap_key(p11::aes_key_wrap(), new_kek, inside));
      rewrapped.push_back(std::move(wrapped));
    }
    return rewrapped;
  }), std::move(batch));
}

}  // namespace keyward::hierarchy
