// keyward-ceremony recover: M share files → the root re-created on a (fresh) token, same KCV.
#include <iostream>

#include "ceremony/policy_record.h"
#include "ceremony/root_recovery.h"
#include "tools/common/cli.h"
#include "tools/keyward_ceremony/commands.h"

namespace keyward::cli {

void add_recover_command(CLI::App& app, RecoverCommand& command) {
  auto* recover = app.add_subcommand("recover", "Re-create the root on a token from M backup share files");
  add_ceremony_options(*recover, command.common);
  recover->add_option("SHARE", command.share_files, "share files (at least the threshold)")->required()->check(CLI::ExistingFile);
  recover->add_option("--passphrase-source", command.passphrase_source, "for sealed shares: file:PATH, env:NAME or prompt");
  recover->add_option("--expect-kcv", command.expect_kcv, "the root KCV recorded at the original ceremony");
  recover->add_option("--so-pin-source", command.so_pin_source, "initialise a fresh token first (label from the URI's token=)");
  recover->add_option("--user-pin-out", command.user_pin_out, "with --so-pin-source: file for the new user PIN");
}

int run_recover(const RecoverCommand& command) {
  // The shares are checked before any token is touched: a bad share set creates nothing.
  auto recombined = ceremony::recombine_root_shares(command.share_files, command.passphrase_source, command.expect_kcv);
  if (!recombined) return report(kTool, recombined.error());
  if (auto initialised = initialize_token_if_asked(command.common.token, command.so_pin_source, command.user_pin_out);
      !initialised)
    return report(kTool, initialised.error());
  auto context = open_token(command.common.token);
  if (!context) return report(kTool, context.error());
  auto log = open_ceremony_log(command.common, *context);
  if (!log) return report(kTool, log.error());
  auto root = ceremony::import_recovered_root(*context->hierarchy, *recombined);
  if (!root) {
    (void)log->record_failure("recover", root.error());
    return report(kTool, root.error());
  }
  auto details = ceremony::recovery_record(*root, *recombined);
  details["policy_check"] = ceremony::policy_check_summary(*context->hierarchy);
  if (auto recorded = log->record("recover", details); !recorded) return report(kTool, recorded.error());
  if (auto matches = ceremony::recovered_kcv_matches(*root, recombined->metadata); !matches)
    return report(kTool, matches.error());
  std::cout << "recovered " << root->label << " — KCV " << root->kcv.kw_fingerprint << " matches the original\n";
  return kExitOk;
}

}  // namespace keyward::cli
