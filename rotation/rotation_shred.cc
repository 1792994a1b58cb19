#include "rotation/rotation_shred.h"

#include <algorithm>

#include "hierarchy/audited.h"

namespace keyward::rotation {

namespace {

Result<ShredReport> shred_unaudited(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const std::string& scope,
                                    const std::optional<std::string>& kek_family) {
  KW_ASSIGN_OR_RETURN(auto deks, catalog.deks_for_scope(scope));
  if (kek_family) {
    KW_ASSIGN_OR_RETURN(auto counts, catalog.count_by_version(*kek_family));
    std::uint64_t under_family = 0, own = 0;
    for (const auto& [version, count] : counts) under_family += count;
    own = static_cast<std::uint64_t>(std::count_if(deks.begin(), deks.end(), [&](const hierarchy::DekRecord& d) { return d.kek_family == *kek_family; }));
    if (under_family > own)
      return make_error(ErrorCategory::policy,
                        "refusing to destroy KEK family '" + *kek_family + "': " + std::to_string(under_family - own) +
                            " DEK(s) of other scopes are wrapped under it and would be lost. Shred the scope without --kek, "
                            "or give each scope its own family");
  }
  std::vector<std::vector<std::uint8_t>> wrapped;
  for (const auto& dek : deks) wrapped.push_back(dek.wrapped);

  ShredReport report;
  KW_ASSIGN_OR_RETURN(report.deks_destroyed, catalog.shred_scope(scope, "keyward-rotate shred"));
  if (kek_family) {
    KW_ASSIGN_OR_RETURN(auto keks, hierarchy.list_keks());
    for (const auto& kek : keks) {
      if (kek.ref.family != *kek_family) continue;
      KW_TRY(hierarchy.destroy_kek(kek.ref));
      KW_TRY(catalog.set_kek_version({kek.ref.family, kek.ref.version, hierarchy::KekState::retired, 0, 0}));
      report.keks_destroyed.push_back(kek.ref);
    }
    KW_TRY(catalog.shred_scope("kek:" + *kek_family, "keyward-rotate shred"));
    KW_ASSIGN_OR_RETURN(auto after, hierarchy.list_keks());
    for (const auto& kek : after)
      if (kek.ref.family == *kek_family)
        return make_error(ErrorCategory::token, kek.ref.label() + " is still on the token after it was destroyed: run the shred again");
  }
  KW_ASSIGN_OR_RETURN(report.residues, catalog.purge_copies(wrapped));
  return report;
}

}  // namespace

Result<ShredReport> shred_scope(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const std::string& scope,
                                const std::optional<std::string>& kek_family) {
  return hierarchy::audited<ShredReport>(shred_unaudited(hierarchy, catalog, scope, kek_family),
                                         audit::Event{"scope.shred", "ok", "", scope, {{"kek_family", kek_family.value_or("")}}},
                                         [](const ShredReport& report, audit::Event& event) {
                                           event.details["deks_destroyed"] = report.deks_destroyed;
                                         });
}

}  // namespace keyward::rotation
