// Creating a root: generated in the token (never leaves it, no backup), or made from the token's RNG,
// split into M-of-N share files and imported, so that it can be recovered (root_recovery.h).
//
// A backed-up root exists only with its complete share set: the shares are written before the
// import, and a failure on either side removes every share file this call wrote and creates no root.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "hierarchy/key_hierarchy.h"

namespace keyward::ceremony {

struct RootBackupPlan {
  unsigned shares = 0;            // N, 2..255
  unsigned threshold = 0;         // M, 2..N
  std::string share_dir = ".";    // the files are root-v<V>-share-<i>-of-<N>.json, mode 0600, never overwritten
  std::string passphrase_source;  // seals each share under a custodian passphrase (file:, env:, prompt); empty: plain
};

struct RootSetupRequest {
  bool new_version = false;               // a further root version beside the existing one
  std::optional<RootBackupPlan> backup;   // none: generated in the token, no backup
};

struct RootSetup {
  hierarchy::RootInfo root;
  std::optional<RootBackupPlan> backup;
  std::vector<std::string> share_files;
  std::string share_set_id;
};

// Creates the root `request` asks for. Errors: usage for a second root without new_version or bad
// M/N; io when a share file cannot be written (nothing left behind); token from the module; internal
// if the token reports another KCV than the shares carry.
Result<RootSetup> set_up_root(hierarchy::KeyHierarchy& hierarchy, const RootSetupRequest& request);

// The share file name for share `index` of `total` of root `version`, in `dir`.
std::string share_file_path(const std::string& dir, std::uint32_t version, unsigned index, unsigned total);

// The transcript entry for the new root (also `keyward-ceremony init --json`): label, kind, KCV,
// and for a backed-up root the share set ID, files, M, N and whether they are passphrase-sealed.
nlohmann::json root_setup_record(const RootSetup& setup);

}  // namespace keyward::ceremony
