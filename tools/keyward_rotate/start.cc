// keyward-rotate start --kek NAME
#include <iostream>

#include "rotation/rotation.h"
#include "tools/common/cli.h"
#include "tools/keyward_rotate/context.h"

namespace keyward::cli {

int run_start(const RotateOptions& options) {
  auto context = open_rotate_context(options);
  if (!context) return report("keyward-rotate", context.error());
  auto started = rotation::start_rotation_with_backup((*context)->hierarchy(), (*context)->catalog(), options.catalog,
                                                      options.kek_family);
  if (!started) return report("keyward-rotate", started.error());
  const auto& info = started->created.info;
  std::cout << "rotation of '" << options.kek_family << "' started: new DEKs go under " << info.ref.label() << " (KCV "
            << info.kcv.kw_fingerprint << "); older versions still decrypt. Backup blob: " << started->blob_path
            << "\nnext: keyward-rotate run [PATH...]\n";
  return kExitOk;
}

}  // namespace keyward::cli
