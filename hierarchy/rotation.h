// Rotation: rewrap every DEK under a new KEK version inside the token, without touching data.
//
// start → a new KEK version becomes the one new DEKs go under; older versions still decrypt.
// run   → catalog DEKs in batches (each batch one transaction, guarded by the version it expects, so a
//         killed run resumes with no loss) and envelope key sections in place (two-slot switch).
// retire→ an old version is destroyed in the token only when nothing references it.
// Every rewrap happens in the token: unwrap under the old KEK into a sensitive session object, wrap
// under the new one, destroy. No code path here reads CKA_VALUE.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "envelope/format.h"
#include "hierarchy/catalog.h"
#include "hierarchy/key_hierarchy.h"

namespace keyward::hierarchy {

struct RotationProgress {
  std::string phase;  // "catalog" or "files"
  std::uint64_t done = 0;
  std::uint64_t total = 0;
};
using ProgressCallback = std::function<void(const RotationProgress&)>;

// Creates the next KEK version of `family` (under the latest root), records it as active in the
// catalog (older versions decrypt-only) and marks a rotation in progress. Returns the new KEK and blob.
Result<KekCreated> start_rotation(KeyHierarchy& hierarchy, Catalog& catalog, const std::string& family);

// The rotation target of `family`: the newest KEK version on the token.
Result<std::uint32_t> rotation_target(KeyHierarchy& hierarchy, const std::string& family);

struct Shard {
  envelope::DekId after{};                      // exclusive
  envelope::DekId before = Catalog::max_dek_id();  // exclusive
};
// The i-th of n equal slices of the DEK ID space.
Shard shard_of(unsigned index, unsigned count);

// Rewraps the catalog DEKs of `family` below `target` inside `shard`, `batch` at a time, stopping
// after about `max_rewraps` (0: no limit) so that a long-running worker can re-initialise its module
// (SoftHSM keeps ~240 bytes per destroyed session object until the module is finalised). Returns the number
// rewrapped by this call (DEKs already done by an earlier run are not counted).
Result<std::uint64_t> rewrap_catalog(KeyHierarchy& hierarchy, Catalog& catalog, const std::string& family,
                                     std::uint32_t target, const Shard& shard, std::size_t batch,
                                     const ProgressCallback& progress, std::uint64_t max_rewraps = 0);

// Envelope files (directories are walked) whose key section is under an older version of a rotating
// family: rewrapped in place. Every file seen is recorded in the catalog's file references.
struct FileRotation {
  std::uint64_t seen = 0, rewrapped = 0, skipped = 0;
  std::vector<std::string> not_envelopes;  // files that did not parse as envelopes (left alone)
};
Result<FileRotation> rewrap_files(KeyHierarchy& hierarchy, Catalog& catalog, const std::vector<std::string>& paths,
                                  const std::map<std::string, std::uint32_t>& targets, const ProgressCallback& progress);

struct FamilyStatus {
  std::string family;
  std::vector<KekVersionRecord> versions;             // from the catalog
  std::vector<std::uint32_t> token_versions;          // KEK versions present in the token
  std::map<std::uint32_t, std::uint64_t> deks_by_version;
  std::optional<RotationRecord> rotation;
  bool rotation_in_progress() const { return rotation && rotation->finished == 0; }
};
Result<std::vector<FamilyStatus>> rotation_status(KeyHierarchy& hierarchy, Catalog& catalog);

// Marks the rotation of `family` finished if no catalog DEK remains below the target.
Result<bool> finish_rotation_if_done(KeyHierarchy& hierarchy, Catalog& catalog, const std::string& family);

// Destroys KEK version `version` of `family` in the token after checking that nothing references it
// (catalog DEKs, envelope files seen by the last scan) and that it is not the newest version. With
// `escrow_path`, its root-wrapped blob is written there first.
Status retire_kek_version(KeyHierarchy& hierarchy, Catalog& catalog, const std::string& family, std::uint32_t version,
                          const std::optional<std::string>& escrow_path);

}  // namespace keyward::hierarchy
