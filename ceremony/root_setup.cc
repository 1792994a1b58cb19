#include "ceremony/root_setup.h"

#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>

#include "base/files.h"
#include "ceremony/backup_share.h"
#include "ceremony/offline_kcv.h"
#include "pkcs11/pin_source.h"

namespace keyward::ceremony {
namespace {

// The share files written so far; removed on destruction unless kept.
class ShareFilesInProgress {
 public:
  ShareFilesInProgress() = default;
  ShareFilesInProgress(const ShareFilesInProgress&) = delete;
  ShareFilesInProgress& operator=(const ShareFilesInProgress&) = delete;
  ~ShareFilesInProgress() {
    for (const auto& path : paths_) ::unlink(path.c_str());
  }
  void add(std::string path) { paths_.push_back(std::move(path)); }
  std::vector<std::string> keep() { return std::exchange(paths_, {}); }

 private:
  std::vector<std::string> paths_;
};

Result<std::vector<Share>> split_with_token_rng(hierarchy::KeyHierarchy& hierarchy, const SecretBytes& material,
                                                const RootBackupPlan& plan) {
  RandomSource token_rng = [&](std::span<std::uint8_t> out) -> Status {
    KW_ASSIGN_OR_RETURN(auto random, hierarchy.pool().run([&](p11::Session& s) { return s.generate_random(out.size()); }));
    std::copy(random.reveal().begin(), random.reveal().end(), out.begin());
    return {};
  };
  return split_secret(material, plan.threshold, plan.shares, token_rng);
}

// Writes the shares of `material` as files; on failure the ones written are removed by `written`.
Status write_share_files(hierarchy::KeyHierarchy& hierarchy, const SecretBytes& material, const RootBackupPlan& plan,
                         const ShareMetadata& set, ShareFilesInProgress& written) {
  std::optional<SecretBytes> passphrase;
  if (!plan.passphrase_source.empty()) {
    KW_ASSIGN_OR_RETURN(auto read, p11::read_pin(plan.passphrase_source, "custodian passphrase"));
    passphrase = std::move(read);
  }
  KW_ASSIGN_OR_RETURN(auto shares, split_with_token_rng(hierarchy, material, plan));
  for (const auto& share : shares) {
    ShareMetadata metadata = set;
    metadata.index = share.index;
    KW_ASSIGN_OR_RETURN(auto text, encode_share_file(metadata, share, passphrase ? &*passphrase : nullptr));
    const std::string path = share_file_path(plan.share_dir, set.root_version, share.index, plan.shares);
    auto status = cli::write_new_file(path, text, 0600);
    OPENSSL_cleanse(text.data(), text.size());
    KW_TRY(status);
    written.add(path);
  }
  return {};
}

Result<RootSetup> set_up_backed_up_root(hierarchy::KeyHierarchy& hierarchy, bool new_version, const RootBackupPlan& plan) {
  KW_ASSIGN_OR_RETURN(std::uint32_t version, hierarchy.next_root_version(new_version));
  KW_ASSIGN_OR_RETURN(auto material, hierarchy.root_material_from_token_rng());
  KW_ASSIGN_OR_RETURN(std::string kcv, kw_fingerprint_of(material));
  const ShareMetadata set{version, 0, static_cast<std::uint8_t>(plan.threshold), static_cast<std::uint8_t>(plan.shares),
                          new_share_set_id(), kcv};
  ShareFilesInProgress written;
  KW_TRY(write_share_files(hierarchy, material, plan, set, written));
  auto root = hierarchy.import_root(material, version);
  material.wipe();
  KW_TRY(root);  // `written` removes the shares: no shares of a root that does not exist
  RootSetup setup{*root, plan, written.keep(), set.set_id};
  if (setup.root.kcv.kw_fingerprint != kcv)
    return make_error(ErrorCategory::internal, "the imported root's KCV differs from the shares' KCV");
  return setup;
}

}  // namespace

std::string share_file_path(const std::string& dir, std::uint32_t version, unsigned index, unsigned total) {
  return dir + "/root-v" + std::to_string(version) + "-share-" + std::to_string(index) + "-of-" + std::to_string(total) +
         ".json";
}

Result<RootSetup> set_up_root(hierarchy::KeyHierarchy& hierarchy, const RootSetupRequest& request) {
  if (request.backup) return set_up_backed_up_root(hierarchy, request.new_version, *request.backup);
  KW_ASSIGN_OR_RETURN(auto root, hierarchy.create_generated_root(request.new_version));
  return RootSetup{std::move(root), std::nullopt, {}, {}};
}

nlohmann::json root_setup_record(const RootSetup& setup) {
  const auto& root = setup.root;
  if (!setup.backup)
    return {{"label", root.label}, {"kind", "generated in the token (CKA_LOCAL, never extractable, no backup)"},
            {"kcv", root.kcv.kw_fingerprint}, {"check_value", root.kcv.check_value.value_or("")}};
  const auto& plan = *setup.backup;
  return {{"label", root.label},
          {"kind", "imported from token RNG material, backed up " + std::to_string(plan.threshold) + "-of-" +
                       std::to_string(plan.shares)},
          {"kcv", root.kcv.kw_fingerprint},
          {"share_set_id", setup.share_set_id},
          {"share_files", setup.share_files},
          {"threshold", plan.threshold},
          {"shares", plan.shares},
          {"passphrase_sealed", !plan.passphrase_source.empty()}};
}

}  // namespace keyward::ceremony
