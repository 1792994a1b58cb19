// keyward-rotate retire --kek NAME --version V [--escrow FILE]; keyward-rotate shred --scope S [--kek NAME]
#include <iostream>

#include "hierarchy/labels.h"
#include "hierarchy/rotation.h"
#include "tools/common/cli.h"
#include "tools/keyward_rotate/context.h"

namespace keyward::cli {

int run_retire(const RotateOptions& options) {
  auto context = open_rotate_context(options);
  if (!context) return report("keyward-rotate", context.error());
  std::optional<std::string> escrow;
  if (!options.escrow.empty()) escrow = options.escrow;
  auto retired = hierarchy::retire_kek_version(*context->token.hierarchy, *context->catalog, options.kek_family, options.version, escrow);
  if (!retired) return report("keyward-rotate", retired.error());
  std::cout << "retired " << hierarchy::kek_label(options.kek_family, options.version) << ": destroyed in the token"
            << (escrow ? ", blob escrowed in " + *escrow : "") << "\n";
  return kExitOk;
}

int run_shred(const RotateOptions& options) {
  auto context = open_rotate_context(options);
  if (!context) return report("keyward-rotate", context.error());
  auto destroyed = context->catalog->shred_scope(options.scope, "keyward-rotate shred");
  if (!destroyed) return report("keyward-rotate", destroyed.error());
  std::uint32_t keks = 0;
  if (!options.kek_family.empty()) {
    // The scope's own KEK family: every version goes, so envelopes under it can never be opened.
    auto versions = context->token.hierarchy->list_keks();
    if (!versions) return report("keyward-rotate", versions.error());
    for (const auto& kek : *versions) {
      if (kek.ref.name != options.kek_family) continue;
      if (auto gone = context->token.hierarchy->destroy_kek(kek.ref); !gone) return report("keyward-rotate", gone.error());
      (void)context->catalog->set_kek_version({kek.ref.name, kek.ref.version, hierarchy::KekState::retired, 0, 0});
      ++keks;
    }
    if (auto tombstone = context->catalog->shred_scope("kek:" + options.kek_family, "keyward-rotate shred"); !tombstone)
      return report("keyward-rotate", tombstone.error());
  }
  std::cout << "shredded scope '" << options.scope << "': " << *destroyed << " DEK(s) destroyed"
            << (keks ? ", " + std::to_string(keks) + " KEK version(s) of '" + options.kek_family + "' destroyed in the token" : "")
            << "; a tombstone prevents re-creation\n";
  return kExitOk;
}

}  // namespace keyward::cli
