// keyward-rotate start --kek NAME
#include <iostream>

#include "rotation/rotation.h"
#include "tools/common/cli.h"
#include "base/files.h"
#include "tools/keyward_rotate/context.h"

namespace keyward::cli {

int run_start(const RotateOptions& options) {
  auto context = open_rotate_context(options);
  if (!context) return report("keyward-rotate", context.error());
  auto created = hierarchy::start_rotation(*context->token.hierarchy, *context->catalog, options.kek_family);
  if (!created) return report("keyward-rotate", created.error());
  // The new version's blob (wrapped under the root) is its backup: keep it beside the catalog.
  const std::string blob_path = options.catalog + "." + options.kek_family + "-v" + std::to_string(created->info.ref.version) + ".kekblob";
  if (auto written = write_new_file(blob_path, created->blob.to_json(), 0600); !written) return report("keyward-rotate", written.error());
  std::cout << "rotation of '" << options.kek_family << "' started: new DEKs go under " << created->info.ref.label() << " (KCV "
            << created->info.kcv.kw_fingerprint << "); older versions still decrypt. Backup blob: " << blob_path
            << "\nnext: keyward-rotate run [PATH...]\n";
  return kExitOk;
}

}  // namespace keyward::cli
