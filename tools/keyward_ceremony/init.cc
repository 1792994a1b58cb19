// keyward-ceremony init: root v1 (or the next version), generated in the token or backed up M-of-N.
#include <openssl/crypto.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "ceremony/backup_share.h"
#include "ceremony/offline_kcv.h"
#include "hierarchy/policy_check.h"
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

struct WrittenShares {
  std::vector<std::string> paths;
  ~WrittenShares() = default;
  void remove_all() {
    for (const auto& path : paths) ::unlink(path.c_str());
    paths.clear();
  }
};

// Splits `material` into share files in `dir`. On any failure the files written so far are removed.
Result<std::vector<std::string>> write_shares(const InitCommand& command, const SecretBytes& material,
                                              hierarchy::KeyHierarchy& hierarchy, std::uint32_t version,
                                              const std::string& kcv, std::string& out_set_id) {
  std::optional<SecretBytes> passphrase;
  if (!command.passphrase_source.empty()) {
    KW_ASSIGN_OR_RETURN(auto read, p11::read_pin(command.passphrase_source, "custodian passphrase"));
    passphrase = std::move(read);
  }
  ceremony::RandomSource token_rng = [&](std::span<std::uint8_t> out) -> Status {
    KW_ASSIGN_OR_RETURN(auto random, hierarchy.pool().run([&](p11::Session& s) { return s.generate_random(out.size()); }));
    std::copy(random.reveal().begin(), random.reveal().end(), out.begin());
    return {};
  };
  KW_ASSIGN_OR_RETURN(auto shares, ceremony::split_secret(material, command.threshold, command.shares, token_rng));
  out_set_id = ceremony::new_share_set_id();
  WrittenShares written;
  for (const auto& share : shares) {
    ceremony::ShareMetadata metadata{version, share.index, static_cast<std::uint8_t>(command.threshold),
                                      static_cast<std::uint8_t>(command.shares), out_set_id, kcv};
    auto text = ceremony::encode_share_file(metadata, share, passphrase ? &*passphrase : nullptr);
    if (!text) {
      written.remove_all();
      return std::unexpected(text.error());
    }
    const std::string path = command.share_dir + "/root-v" + std::to_string(version) + "-share-" +
                             std::to_string(share.index) + "-of-" + std::to_string(command.shares) + ".json";
    auto status = write_new_file(path, *text, 0600);
    OPENSSL_cleanse(text->data(), text->size());
    if (!status) {
      written.remove_all();
      return std::unexpected(status.error());
    }
    written.paths.push_back(path);
  }
  auto paths = written.paths;
  written.paths.clear();  // keep them
  return paths;
}

}  // namespace

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
  if (!command.so_pin_source.empty()) {
    auto initialised = initialize_token_from_uri(command.common.token.uri, command.so_pin_source, command.user_pin_out);
    if (!initialised) return report(kTool, initialised.error());
    std::cout << *initialised << "\n";
  }
  auto context = open_token(command.common.token);
  if (!context) return report(kTool, context.error());
  auto& hierarchy = *context->hierarchy;
  auto log = CeremonyLog::open(command.common, *context);
  if (!log) return report(kTool, log.error());

  auto created = [&]() -> Result<nlohmann::json> {
    if (command.shares == 0) {
      KW_ASSIGN_OR_RETURN(auto root, hierarchy.create_generated_root(command.new_version));
      return nlohmann::json{{"label", root.label}, {"kind", "generated in the token (CKA_LOCAL, never extractable, no backup)"},
                            {"kcv", root.kcv.kw_fingerprint}, {"check_value", root.kcv.check_value.value_or("")}};
    }
    KW_ASSIGN_OR_RETURN(std::uint32_t version, hierarchy.next_root_version(command.new_version));
    KW_ASSIGN_OR_RETURN(auto material, hierarchy.root_material_from_token_rng());
    KW_ASSIGN_OR_RETURN(std::string kcv, ceremony::kw_fingerprint_of(material));
    std::string set_id;
    KW_ASSIGN_OR_RETURN(auto paths, write_shares(command, material, hierarchy, version, kcv, set_id));
    auto root = hierarchy.import_root(material, version);
    material.wipe();
    if (!root) {
      for (const auto& path : paths) ::unlink(path.c_str());  // nothing half-done: no shares of a root that does not exist
      return std::unexpected(root.error());
    }
    if (root->kcv.kw_fingerprint != kcv)
      return make_error(ErrorCategory::internal, "the imported root's KCV differs from the shares' KCV");
    return nlohmann::json{{"label", root->label}, {"kind", "imported from token RNG material, backed up " + std::to_string(command.threshold) +
                                                               "-of-" + std::to_string(command.shares)},
                          {"kcv", root->kcv.kw_fingerprint}, {"share_set_id", set_id}, {"share_files", paths},
                          {"threshold", command.threshold}, {"shares", command.shares},
                          {"passphrase_sealed", !command.passphrase_source.empty()}};
  }();
  if (!created) {
    (void)log->record_failure("init", created.error());
    return report(kTool, created.error());
  }
  auto policy = summarize_policy(hierarchy);
  (*created)["policy_check"] = policy;
  if (auto recorded = log->record("init", *created); !recorded) return report(kTool, recorded.error());
  if (command.common.json) {
    std::cout << created->dump(2) << "\n";
  } else {
    std::cout << "created " << (*created)["label"].get<std::string>() << " — " << (*created)["kind"].get<std::string>()
              << "\n  KCV (KW fingerprint): " << (*created)["kcv"].get<std::string>() << "\n";
    if (created->contains("share_files"))
      for (const auto& path : (*created)["share_files"]) std::cout << "  share: " << path.get<std::string>() << "\n";
    std::cout << "  transcript: " << log->path() << "\n";
  }
  return kExitOk;
}

}  // namespace keyward::cli
