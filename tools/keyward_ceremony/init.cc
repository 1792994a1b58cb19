// keyward-ceremony init: root v1 (or the next version), generated in the token or backed up M-of-N.
#include <iostream>

#include "ceremony/policy_record.h"
#include "ceremony/root_setup.h"
#include "tools/common/cli.h"
#include "tools/keyward_ceremony/commands.h"

namespace keyward::cli {

void add_init_command(CLI::App& app, InitCommand& command) {
  auto* init = app.add_subcommand("init", "Create the root key (v1, or the next version with --new-version)");
  add_ceremony_options(*init, command.common);
  init->add_flag("--new-version", command.new_version, "create the next root version beside the existing one");
  auto* shares = init->add_option("--shares", command.shares, "split the root into N backup share files (M-of-N)");
  auto* threshold = init->add_option("--threshold", command.threshold, "shares needed to recover the root (M)");
  shares->needs(threshold);
  threshold->needs(shares);
  init->add_option("--share-dir", command.share_dir, "directory for the share files")->capture_default_str();
  init->add_option("--passphrase-source", command.passphrase_source,
                   "seal the share files under a custodian passphrase: file:PATH, env:NAME or prompt");
  init->add_option("--so-pin-source", command.so_pin_source,
                   "initialise a fresh token first (label from the URI's token=), SO PIN from file:PATH or env:NAME");
  init->add_option("--user-pin-out", command.user_pin_out,
                   "with --so-pin-source: file for the new user PIN (default: the URI's pin-source file)");
}

int run_init(const InitCommand& command) {
  if (auto initialised = initialize_token_if_asked(command.common.token, command.so_pin_source, command.user_pin_out);
      !initialised)
    return report(kTool, initialised.error());
  auto context = open_token(command.common.token);
  if (!context) return report(kTool, context.error());
  auto& hierarchy = *context->hierarchy;
  auto log = open_ceremony_log(command.common, *context);
  if (!log) return report(kTool, log.error());

  ceremony::RootSetupRequest request{.new_version = command.new_version, .backup = std::nullopt};
  if (command.shares != 0)
    request.backup = ceremony::RootBackupPlan{command.shares, command.threshold, command.share_dir, command.passphrase_source};
  auto setup = ceremony::set_up_root(hierarchy, request);
  if (!setup) {
    (void)log->record_failure("init", setup.error());
    return report(kTool, setup.error());
  }
  auto created = ceremony::root_setup_record(*setup);
  created["policy_check"] = ceremony::policy_check_summary(hierarchy);
  if (auto recorded = log->record("init", created); !recorded) return report(kTool, recorded.error());
  if (command.common.json) {
    std::cout << created.dump(2) << "\n";
  } else {
    std::cout << "created " << setup->root.label << " — " << created["kind"].get<std::string>()
              << "\n  KCV (KW fingerprint): " << setup->root.kcv.kw_fingerprint << "\n";
    for (const auto& path : setup->share_files) std::cout << "  share: " << path << "\n";
    std::cout << "  transcript: " << log->path() << "\n";
  }
  return kExitOk;
}

}  // namespace keyward::cli
