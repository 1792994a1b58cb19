// Rotation: rewrap every DEK under a new KEK version inside the token, without touching data.
//
// start → a new KEK version becomes the one new DEKs go under; older versions still decrypt.
// run   → catalog DEKs in batches (each batch one transaction, guarded by the version it expects, so a
//         killed run resumes with no loss) and envelope key sections in place (two-slot switch);
//         the whole run in rotation_run.h, its worker processes in worker_processes.h.
// retire→ an old version is destroyed in the token only after a complete run (rotation_runs.h) and
//         when nothing references it (rotation_retire.cc); shred in rotation_shred.h.
// Every rewrap happens in the token: unwrap under the old KEK into a sensitive session object, wrap
// under the new one, destroy. No code path here reads CKA_VALUE.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "envelope/format.h"
#include "catalog/catalog.h"
#include "hierarchy/key_hierarchy.h"

namespace keyward::rotation {

struct RotationProgress {
  std::string phase;  // "catalog" or "files"
  std::uint64_t done = 0;
  std::uint64_t total = 0;
};
using ProgressCallback = std::function<void(const RotationProgress&)>;

// Creates the next KEK version of `family` (under the latest root), records it as active in the
// catalog (older versions decrypt-only) and marks a rotation in progress. Returns the new KEK and blob.
Result<hierarchy::KekCreated> start_rotation(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const std::string& family);

// Where start_rotation_with_backup keeps the new version's blob (the KEK wrapped under the root,
// its backup): beside the catalog, `<catalog>.<family>-v<N>.kekblob`; for a PostgreSQL catalog in the
// working directory, `<server and database, as a file name>.<family>-v<N>.kekblob`.
std::string rotation_blob_path(const std::string& catalog_location, const hierarchy::KekRef& ref);

struct StartedRotation {
  hierarchy::KekCreated created;
  std::string blob_path;
};
// start_rotation, then the new version's blob written to rotation_blob_path (mode 0600, never over an
// existing file). A failure to write the blob is returned after the version exists: the blob can be
// exported again (keyward-ceremony kek export).
Result<StartedRotation> start_rotation_with_backup(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog,
                                                   const std::string& catalog_location, const std::string& family);

// The rotation target of `family`: the newest KEK version on the token.
Result<std::uint32_t> rotation_target(hierarchy::KeyHierarchy& hierarchy, const std::string& family);

struct Shard {
  envelope::DekId after{};                      // exclusive
  envelope::DekId before = hierarchy::Catalog::max_dek_id();  // exclusive
};
// The i-th of n equal slices of the DEK ID space.
Shard shard_of(unsigned index, unsigned count);

// Rewraps the catalog DEKs of `family` below `target` inside `shard`, `batch` at a time, stopping
// after about `max_rewraps` (0: no limit) so that a long-running worker can re-initialise its module
// (SoftHSM keeps ~240 bytes per destroyed session object until the module is finalised). Returns the number
// rewrapped by this call (DEKs already done by an earlier run are not counted).
Result<std::uint64_t> rewrap_catalog(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const std::string& family,
                                     std::uint32_t target, const Shard& shard, std::size_t batch,
                                     const ProgressCallback& progress, std::uint64_t max_rewraps = 0);

// Rotation shared by processes and hosts (a catalog whose claims_rewrap_batches() is true): claims
// batches of `family` below `target` that no other process holds, rewraps each in the token and
// commits it with its claim (Catalog::claim_rewrap_batch), counting the commits for run `run_id`.
// When nothing is left to claim but other processes still hold batches, waits for them (a killed
// process's batch comes back and is taken over), so that on return no DEK of the family is below
// `target`, unless `max_rewraps` (0: no limit) stopped it first. Fails (ErrorCategory::database)
// if other processes hold batches and none commits for kClaimWaitLimit. Returns the DEKs this call
// rewrapped.
inline constexpr std::chrono::seconds kClaimWaitLimit{600};
Result<std::uint64_t> rewrap_claimed_batches(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog,
                                             const std::string& family, std::uint32_t target, std::size_t batch,
                                             std::int64_t run_id, const ProgressCallback& progress,
                                             std::uint64_t max_rewraps = 0);

struct FamilyStatus {
  std::string family;
  std::vector<hierarchy::KekVersionRecord> versions;             // from the catalog
  std::vector<std::uint32_t> token_versions;          // KEK versions present in the token
  std::map<std::uint32_t, std::uint64_t> deks_by_version;
  std::optional<hierarchy::RotationRecord> rotation;
  std::vector<hierarchy::RunRecord> recent_runs;  // newest first (at most 16), with host, paths and DEKs rewrapped
  bool rotation_in_progress() const { return rotation && rotation->finished == 0; }
};
Result<std::vector<FamilyStatus>> rotation_status(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog);

struct RetireOptions {
  std::optional<std::string> escrow_path;  // write the version's root-wrapped blob here first (0600, fsynced)
  bool accept_data_loss = false;           // --i-accept-data-loss: skip the run and reference checks
};
struct RetireReport {
  std::optional<hierarchy::RunRecord> covering_run;   // the completed run that proves nothing is left under the version
  bool already_retired_in_catalog = false; // an earlier retire marked it and stopped before the token
  std::uint64_t deks_lost = 0, files_lost = 0;  // with accept_data_loss: what still referenced it
};
// Retires KEK version `version` of `family`: refused (policy) unless the newest run of the family
// that started after `version` stopped being the newest completed (it proves the catalog), every path
// any such run was given — on any host sharing the catalog — has a complete run as its newest covering
// run, and no catalog DEK or recorded envelope file references it. The check and the
// "retired" mark are one catalog write transaction (a writer inserting under the version either
// commits first and is seen, or is refused after); only then is the escrow written and the version
// destroyed in the token. The newest version is a usage error.
Result<RetireReport> retire_kek_version(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const std::string& family,
                                        std::uint32_t version, const RetireOptions& options);

}  // namespace keyward::rotation
