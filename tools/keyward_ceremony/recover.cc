// keyward-ceremony recover: M share files → the root re-created on a (fresh) token, same KCV.
#include <openssl/crypto.h>

#include <iostream>

#include "ceremony/backup_share.h"
#include "ceremony/offline_kcv.h"
#include "pkcs11/pin_source.h"
#include "tools/common/cli.h"
#include "base/files.h"
#include "tools/keyward_ceremony/ceremony_log.h"
#include "tools/keyward_ceremony/commands.h"
#include "tools/keyward_ceremony/fresh_token.h"
#include "tools/keyward_ceremony/policy_summary.h"

namespace keyward::cli {
namespace {

constexpr std::string_view kTool = "keyward-ceremony";

// Reads and recombines the shares, and checks the result's KCV on the CPU: all before any token
// is touched, so a bad share set creates nothing.
Result<std::pair<SecretBytes, ceremony::ShareMetadata>> recombine(const RecoverCommand& command) {
  ceremony::PassphraseProvider passphrase = [&](const std::string& source) -> Result<SecretBytes> {
    if (command.passphrase_source.empty())
      return make_error(ErrorCategory::usage, source + " is sealed: give --passphrase-source (file:PATH, env:NAME or prompt)");
    return p11::read_pin(command.passphrase_source, "passphrase for " + source);
  };
  std::vector<ceremony::ShareFile> files;
  for (const auto& path : command.share_files) {
    KW_ASSIGN_OR_RETURN(auto text, read_small_file(path, 64 * 1024));
    auto file = ceremony::decode_share_file(text, path, passphrase);
    OPENSSL_cleanse(text.data(), text.size());
    if (!file) return std::unexpected(file.error());
    files.push_back(std::move(*file));
  }
  KW_ASSIGN_OR_RETURN(auto material, ceremony::recombine_share_files(files));
  KW_ASSIGN_OR_RETURN(std::string kcv, ceremony::kw_fingerprint_of(material));
  const auto& metadata = files.front().metadata;
  if (kcv != metadata.root_kcv)
    return make_error(ErrorCategory::authentication, "the shares recombine to a key with KCV " + kcv + ", not the root's " +
                                                         metadata.root_kcv + ": a share is wrong or tampered; nothing created");
  if (!command.expect_kcv.empty() && command.expect_kcv != kcv)
    return make_error(ErrorCategory::authentication, "the recovered root's KCV " + kcv + " differs from --expect-kcv " +
                                                         command.expect_kcv + "; nothing created");
  return std::make_pair(std::move(material), metadata);
}

}  // namespace

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
  auto recombined = recombine(command);
  if (!recombined) return report(kTool, recombined.error());
  auto& [material, metadata] = *recombined;
  if (!command.so_pin_source.empty()) {
    auto initialised = initialize_token_from_uri(command.common.token.uri, command.so_pin_source, command.user_pin_out);
    if (!initialised) return report(kTool, initialised.error());
    std::cout << *initialised << "\n";
  }
  auto context = open_token(command.common.token);
  if (!context) return report(kTool, context.error());
  auto log = CeremonyLog::open(command.common, *context);
  if (!log) return report(kTool, log.error());
  auto root = context->hierarchy->import_root(material, metadata.root_version);
  material.wipe();
  if (!root) {
    (void)log->record_failure("recover", root.error());
    return report(kTool, root.error());
  }
  nlohmann::json details{{"label", root->label}, {"kcv", root->kcv.kw_fingerprint}, {"expected_kcv", metadata.root_kcv},
                         {"kcv_matches", root->kcv.kw_fingerprint == metadata.root_kcv},
                         {"share_set_id", metadata.set_id}, {"shares_used", command.share_files.size()},
                         {"threshold", metadata.threshold}, {"policy_check", summarize_policy(*context->hierarchy)}};
  if (auto recorded = log->record("recover", details); !recorded) return report(kTool, recorded.error());
  if (root->kcv.kw_fingerprint != metadata.root_kcv) {
    return report(kTool, Error{ErrorCategory::internal, "the token reports a different KCV for the imported root", std::nullopt});
  }
  std::cout << "recovered " << root->label << " — KCV " << root->kcv.kw_fingerprint << " matches the original\n";
  return kExitOk;
}

}  // namespace keyward::cli
