#include "ceremony/replicate.h"

#include <algorithm>

#include "hierarchy/token_set.h"

namespace keyward::ceremony {

Result<ReplicationReport> replicate_keks(hierarchy::KeyHierarchy& from, hierarchy::KeyHierarchy& to,
                                         const std::string& from_name, const std::string& to_name) {
  KW_ASSIGN_OR_RETURN(auto from_roots, from.roots());
  KW_ASSIGN_OR_RETURN(auto to_roots, to.roots());
  if (to_roots.empty())
    return make_error(ErrorCategory::policy, to_name + " holds no root: recover the root there from its shares first "
                                                       "(keyward-ceremony recover --token URI SHARE...)");
  auto same_root = [&](const hierarchy::RootInfo& root) {
    return std::any_of(to_roots.begin(), to_roots.end(), [&](const hierarchy::RootInfo& other) {
      return other.label == root.label && other.kcv.kw_fingerprint == root.kcv.kw_fingerprint;
    });
  };
  if (from_roots.empty() || !std::all_of(from_roots.begin(), from_roots.end(), same_root))
    return make_error(ErrorCategory::policy, "the roots of " + from_name + " and " + to_name +
                                                 " differ: only a token holding the same root (recovered from the same "
                                                 "shares) can join the set");
  KW_ASSIGN_OR_RETURN(auto from_keks, from.list_keks());
  KW_ASSIGN_OR_RETURN(auto to_keks, to.list_keks());
  ReplicationReport report;
  for (const auto& kek : from_keks) {
    auto there = std::find_if(to_keks.begin(), to_keks.end(),
                              [&](const hierarchy::KekInfo& other) { return other.ref.label() == kek.ref.label(); });
    if (there != to_keks.end()) {
      if (there->kcv.kw_fingerprint != kek.kcv.kw_fingerprint)
        return make_error(ErrorCategory::policy, kek.ref.label() + " differs: fingerprint " + kek.kcv.kw_fingerprint + " on " +
                                                     from_name + ", " + there->kcv.kw_fingerprint + " on " + to_name);
      report.present.push_back(kek);
      continue;
    }
    KW_ASSIGN_OR_RETURN(auto blob, from.export_kek(kek.ref));
    auto imported = to.import_kek(blob);
    if (!imported) return fail(imported.error().with_context("importing " + kek.ref.label() + " into " + to_name));
    report.copied.push_back(*imported);
  }
  // What the set checks at start-up, checked here too: the operator learns now, not at the next open.
  KW_ASSIGN_OR_RETURN(to_roots, to.roots());
  KW_ASSIGN_OR_RETURN(to_keks, to.list_keks());
  if (auto diff = hierarchy::difference_between(from_name, from_roots, from_keks, to_name, to_roots, to_keks); !diff.empty())
    return make_error(ErrorCategory::policy, "after copying, the tokens still differ: " + diff);
  return report;
}

}  // namespace keyward::ceremony
