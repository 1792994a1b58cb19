#include "ceremony/root_recovery.h"

#include <openssl/crypto.h>

#include "base/files.h"
#include "ceremony/offline_kcv.h"
#include "pkcs11/pin_source.h"

namespace keyward::ceremony {

Result<RecombinedRoot> recombine_root_shares(const std::vector<std::string>& share_files,
                                             const std::string& passphrase_source, const std::string& expect_kcv) {
  PassphraseProvider passphrase = [&](const std::string& source) -> Result<SecretBytes> {
    if (passphrase_source.empty())
      return make_error(ErrorCategory::usage, source + " is sealed: give --passphrase-source (file:PATH, env:NAME or prompt)");
    return p11::read_pin(passphrase_source, "passphrase for " + source);
  };
  std::vector<ShareFile> files;
  for (const auto& path : share_files) {
    KW_ASSIGN_OR_RETURN(auto text, cli::read_small_file(path, 64 * 1024));
    auto file = decode_share_file(text, path, passphrase);
    OPENSSL_cleanse(text.data(), text.size());
    if (!file) return std::unexpected(file.error());
    files.push_back(std::move(*file));
  }
  KW_ASSIGN_OR_RETURN(auto material, recombine_share_files(files));
  KW_ASSIGN_OR_RETURN(std::string kcv, kw_fingerprint_of(material));
  const auto& metadata = files.front().metadata;
  if (kcv != metadata.root_kcv)
    return make_error(ErrorCategory::authentication, "the shares recombine to a key with KCV " + kcv + ", not the root's " +
                                                         metadata.root_kcv + ": a share is wrong or tampered; nothing created");
  if (!expect_kcv.empty() && expect_kcv != kcv)
    return make_error(ErrorCategory::authentication, "the recovered root's KCV " + kcv + " differs from --expect-kcv " +
                                                         expect_kcv + "; nothing created");
  return RecombinedRoot{std::move(material), metadata, files.size()};
}

Result<hierarchy::RootInfo> import_recovered_root(hierarchy::KeyHierarchy& hierarchy, RecombinedRoot& recombined) {
  auto root = hierarchy.import_root(recombined.material, recombined.metadata.root_version);
  recombined.material.wipe();
  return root;
}

Status recovered_kcv_matches(const hierarchy::RootInfo& root, const ShareMetadata& metadata) {
  if (root.kcv.kw_fingerprint != metadata.root_kcv)
    return make_error(ErrorCategory::internal, "the token reports a different KCV for the imported root");
  return {};
}

nlohmann::json recovery_record(const hierarchy::RootInfo& root, const RecombinedRoot& recombined) {
  const auto& metadata = recombined.metadata;
  return {{"label", root.label},
          {"kcv", root.kcv.kw_fingerprint},
          {"expected_kcv", metadata.root_kcv},
          {"kcv_matches", root.kcv.kw_fingerprint == metadata.root_kcv},
          {"share_set_id", metadata.set_id},
          {"shares_used", recombined.shares_used},
          {"threshold", metadata.threshold}};
}

}  // namespace keyward::ceremony
