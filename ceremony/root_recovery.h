// Recovering a root from M backup share files (root_setup.h) onto a token.
//
// Everything that can be checked without the token is checked first: the files parse, belong to one
// share set, number at least its threshold, and recombine to a key whose KCV (computed on the CPU)
// is the one the shares carry, and the one the operator expects. A bad share set creates nothing.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "base/secret_bytes.h"
#include "ceremony/backup_share.h"
#include "hierarchy/key_hierarchy.h"

namespace keyward::ceremony {

struct RecombinedRoot {
  SecretBytes material;       // the root key; import_recovered_root wipes it
  ShareMetadata metadata;     // of the set (root version, threshold, set ID, KCV)
  std::size_t shares_used = 0;
};

// Reads and recombines `share_files`. Sealed shares ask `passphrase_source` (file:, env:, prompt);
// without one they are a usage error. `expect_kcv` (empty: not checked) is the root KCV recorded at
// the original ceremony. Errors: corrupt_input or usage for bad or too few shares, authentication
// for a wrong passphrase or a KCV that does not match.
Result<RecombinedRoot> recombine_root_shares(const std::vector<std::string>& share_files,
                                             const std::string& passphrase_source, const std::string& expect_kcv);

// Imports the recombined root as the version the shares name and wipes the material. Returns the
// root as the token reports it; the caller compares its KCV (recovered_kcv_matches) after recording.
Result<hierarchy::RootInfo> import_recovered_root(hierarchy::KeyHierarchy& hierarchy, RecombinedRoot& recombined);

// Internal error unless the token's KCV for `root` is the shares' KCV.
Status recovered_kcv_matches(const hierarchy::RootInfo& root, const ShareMetadata& metadata);

// The transcript entry of a recovery: label, KCVs, whether they match, set ID, shares used, threshold.
nlohmann::json recovery_record(const hierarchy::RootInfo& root, const RecombinedRoot& recombined);

}  // namespace keyward::ceremony
