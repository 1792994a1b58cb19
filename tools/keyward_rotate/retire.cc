// keyward-rotate retire --kek NAME --version V [--escrow FILE] [--i-accept-data-loss];
// keyward-rotate shred --scope S [--kek NAME]
#include <iostream>

#include "hierarchy/labels.h"
#include "rotation/rotation.h"
#include "rotation/rotation_shred.h"
#include "tools/common/cli.h"
#include "tools/keyward_rotate/context.h"

namespace keyward::cli {

int run_retire(const RotateOptions& options) {
  auto context = open_rotate_context(options);
  if (!context) return report("keyward-rotate", context.error());
  rotation::RetireOptions retire;
  if (!options.escrow.empty()) retire.escrow_path = options.escrow;
  retire.accept_data_loss = options.accept_data_loss;
  auto retired = rotation::retire_kek_version((*context)->hierarchy(), (*context)->catalog(), options.kek_family, options.version, retire);
  if (!retired) return report("keyward-rotate", retired.error());
  const std::string label = hierarchy::kek_label(options.kek_family, options.version);
  if (retired->deks_lost || retired->files_lost)
    std::cerr << "keyward-rotate: WARNING: --i-accept-data-loss: " << retired->deks_lost << " catalog DEK(s) and "
              << retired->files_lost << " envelope file(s) under " << label << " can no longer be decrypted\n";
  std::cout << "retired " << label << ": destroyed in the token" << (retire.escrow_path ? ", blob escrowed in " + *retire.escrow_path : "");
  if (retired->covering_run) {
    const auto& run = *retired->covering_run;
    std::cout << "; covered by run " << run.run_id << " (to v" << run.target_version << ", " << hierarchy::run_outcome_name(run.outcome)
              << "): the catalog";
    for (const auto& path : run.paths) std::cout << ", " << path;
  } else if (retired->already_retired_in_catalog) {
    std::cout << " (an earlier retire had already marked it retired in the catalog)";
  }
  std::cout << "\n";
  return kExitOk;
}

int run_shred(const RotateOptions& options) {
  auto context = open_rotate_context(options);
  if (!context) return report("keyward-rotate", context.error());
  std::optional<std::string> family;
  if (!options.kek_family.empty()) family = options.kek_family;
  auto shredded = rotation::shred_scope((*context)->hierarchy(), (*context)->catalog(), options.scope, family);
  if (!shredded) return report("keyward-rotate", shredded.error());
  std::cout << "shredded scope '" << options.scope << "': " << shredded->deks_destroyed << " DEK(s) destroyed";
  if (!shredded->keks_destroyed.empty())
    std::cout << ", " << shredded->keks_destroyed.size() << " KEK version(s) of '" << options.kek_family << "' destroyed in the token";
  std::cout << "; a tombstone prevents re-creation\n";
  if (shredded->complete()) {
    std::cout << "no copy of the shredded wrapped DEKs remains in the catalog files\n";
    return kExitOk;
  }
  for (const auto& residue : shredded->residues)
    std::cerr << "keyward-rotate: shred incomplete: "
              << (residue.copies ? std::to_string(residue.copies) + " copy(ies) of shredded wrapped DEKs remain in "
                                 : std::string("copies of shredded wrapped DEKs may remain in "))
              << residue.file << ": " << residue.why << "\n";
  return kExitFailed;
}

}  // namespace keyward::cli
