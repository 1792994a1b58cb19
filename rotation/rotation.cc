#include "rotation/rotation.h"

#include <cctype>
#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "base/files.h"
#include "catalog/catalog_location.h"
#include "envelope/key_slots.h"
#include "hierarchy/envelope_keys.h"
#include "hierarchy/labels.h"
#include "hierarchy/token_objects.h"

namespace keyward::rotation {
namespace {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Result<std::uint32_t> rotation_target(hierarchy::KeyHierarchy& hierarchy, const std::string& family) {
  KW_ASSIGN_OR_RETURN(std::uint32_t newest, hierarchy.latest_kek_version(family));
  if (newest == 0) return make_error(ErrorCategory::not_found, "no KEK family '" + family + "' on the token");
  return newest;
}

Result<hierarchy::KekCreated> start_rotation(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const std::string& family) {
  KW_ASSIGN_OR_RETURN(auto previous, catalog.rotation(family));
  if (previous && previous->finished == 0) {
    KW_ASSIGN_OR_RETURN(auto counts, catalog.count_by_version(family));
    std::uint64_t pending = 0;
    for (const auto& [version, count] : counts)
      if (version < previous->target_version) pending += count;
    if (pending > 0)
      return make_error(ErrorCategory::usage, "a rotation of '" + family + "' to v" + std::to_string(previous->target_version) +
                                                  " is still in progress (" + std::to_string(pending) +
                                                  " DEKs left): finish it with keyward-rotate run first");
  }
  KW_ASSIGN_OR_RETURN(auto created, hierarchy.create_kek(family));
  const std::uint32_t target = created.info.ref.version;
  for (std::uint32_t v = 1; v < target; ++v) {
    KW_ASSIGN_OR_RETURN(auto versions, catalog.kek_versions(family));
    bool retired = false;
    for (const auto& record : versions)
      if (record.version == v && record.state == hierarchy::KekState::retired) retired = true;
    if (!retired) KW_TRY(catalog.set_kek_version({family, v, hierarchy::KekState::decrypt_only, 0, 0}));
  }
  KW_TRY(catalog.set_kek_version({family, target, hierarchy::KekState::active, 0, 0}));
  KW_TRY(catalog.set_rotation({family, target, now_seconds(), 0}));
  return created;
}

std::string rotation_blob_path(const std::string& catalog_location, const hierarchy::KekRef& ref) {
  std::string base = catalog_location;
  if (hierarchy::catalog_backend(catalog_location) == hierarchy::CatalogBackend::postgres) {
    // No directory beside a database: the working directory, named after the server and database.
    base.clear();
    for (char c : hierarchy::printable_catalog_location(catalog_location))
      base += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  }
  return base + "." + ref.family + "-v" + std::to_string(ref.version) + ".kekblob";
}

Result<StartedRotation> start_rotation_with_backup(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog,
                                                   const std::string& catalog_location, const std::string& family) {
  KW_ASSIGN_OR_RETURN(auto created, start_rotation(hierarchy, catalog, family));
  StartedRotation started{std::move(created), ""};
  started.blob_path = rotation_blob_path(catalog_location, started.created.info.ref);
  KW_TRY(cli::write_new_file(started.blob_path, started.created.blob.to_json(), 0600));
  return started;
}

Shard shard_of(unsigned index, unsigned count) {
  Shard shard;
  if (count <= 1) return shard;
  // Split on the first byte of the (random) DEK ID: boundaries b0 = 256·i/n.
  const unsigned begin = 256 * index / count, end = 256 * (index + 1) / count;
  if (index > 0) {
    shard.after.fill(0xFF);
    shard.after[0] = static_cast<std::uint8_t>(begin - 1);  // last ID of the previous slice
  }
  if (index + 1 < count) {
    shard.before.fill(0);
    shard.before[0] = static_cast<std::uint8_t>(end);  // first ID of the next slice
  }
  return shard;
}

namespace {

// The batch's DEKs rewrapped in the token under `to`, as guarded catalog updates.
Result<std::vector<hierarchy::Rewrap>> rewrap_batch_in_token(hierarchy::KeyHierarchy& hierarchy,
                                                             const std::vector<hierarchy::DekRecord>& batch,
                                                             const hierarchy::KekRef& to) {
  std::vector<hierarchy::KeyHierarchy::WrappedUnder> inputs;
  inputs.reserve(batch.size());
  for (const auto& record : batch) inputs.push_back({record.kek_version, record.wrapped});
  KW_ASSIGN_OR_RETURN(auto new_wrapped, hierarchy.rewrap_deks_in_token(inputs, to));
  std::vector<hierarchy::Rewrap> rewraps;
  rewraps.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i)
    rewraps.push_back(hierarchy::Rewrap{batch[i].dek_id, batch[i].kek_version, to.version, std::move(new_wrapped[i])});
  return rewraps;
}

}  // namespace

Result<std::uint64_t> rewrap_catalog(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const std::string& family,
                                     std::uint32_t target, const Shard& shard, std::size_t batch_size,
                                     const ProgressCallback& progress, std::uint64_t max_rewraps) {
  // Shard bounds are exclusive; the only IDs no shard covers are all-zero and all-FF, which random
  // 128-bit DEK IDs are not (probability 2^-127).
  const hierarchy::KekRef to{family, target};
  auto fetch_after = [&](const envelope::DekId& cursor) {
    return catalog.next_rewrap_batch(family, target, cursor, batch_size, shard.before);
  };
  // The commit of batch k (a durable transaction: fsync) runs on a helper thread while the token
  // rewraps batch k+1. The catalog is still used by one thread at a time: the next batch is read only
  // after the previous commit has finished.
  std::future<Result<std::size_t>> committing;
  std::uint64_t rewrapped = 0;
  auto settle = [&]() -> Status {
    if (!committing.valid()) return {};
    KW_ASSIGN_OR_RETURN(std::size_t applied, committing.get());
    rewrapped += applied;
    if (progress) progress({"catalog", rewrapped, 0});
    return {};
  };
  KW_ASSIGN_OR_RETURN(auto batch, fetch_after(shard.after));
  while (!batch.empty()) {
    KW_ASSIGN_OR_RETURN(auto rewraps, rewrap_batch_in_token(hierarchy, batch, to));
    KW_TRY(settle());
    if (max_rewraps != 0 && rewrapped + rewraps.size() >= max_rewraps) {
      committing = std::async(std::launch::deferred, [&catalog, r = std::move(rewraps)] { return catalog.apply_rewraps(r); });
      break;
    }
    KW_ASSIGN_OR_RETURN(batch, fetch_after(batch.back().dek_id));
    committing = std::async(std::launch::async, [&catalog, r = std::move(rewraps)] { return catalog.apply_rewraps(r); });
  }
  KW_TRY(settle());
  return rewrapped;
}

namespace {

Result<std::uint64_t> pending_below(hierarchy::Catalog& catalog, const std::string& family, std::uint32_t target) {
  KW_ASSIGN_OR_RETURN(auto counts, catalog.count_by_version(family));
  std::uint64_t pending = 0;
  for (const auto& [version, count] : counts)
    if (version < target) pending += count;
  return pending;
}

}  // namespace

Result<std::uint64_t> rewrap_claimed_batches(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog,
                                             const std::string& family, std::uint32_t target, std::size_t batch_size,
                                             std::int64_t run_id, const ProgressCallback& progress,
                                             std::uint64_t max_rewraps) {
  const hierarchy::KekRef to{family, target};
  std::uint64_t rewrapped = 0;
  auto last_change = std::chrono::steady_clock::now();
  std::uint64_t last_pending = 0;
  while (max_rewraps == 0 || rewrapped < max_rewraps) {
    KW_ASSIGN_OR_RETURN(auto claim, catalog.claim_rewrap_batch(family, target, batch_size, run_id));
    const auto& batch = claim->records();
    if (batch.empty()) {
      claim.reset();  // ends the (empty) claim's transaction before the count
      // Nothing unclaimed: done, unless other processes still hold batches. Wait for them: one that
      // commits ends its batch, one that dies gives it back (then we take it over).
      KW_ASSIGN_OR_RETURN(std::uint64_t pending, pending_below(catalog, family, target));
      if (pending == 0) break;
      const auto now = std::chrono::steady_clock::now();
      if (pending != last_pending) {
        last_pending = pending;
        last_change = now;
      } else if (now - last_change > kClaimWaitLimit) {
        return make_error(ErrorCategory::database,
                          std::to_string(pending) + " DEK(s) of '" + family + "' are claimed by other processes that have "
                          "committed nothing for " + std::to_string(kClaimWaitLimit.count()) + " s: check them, then rerun");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    KW_ASSIGN_OR_RETURN(auto rewraps, rewrap_batch_in_token(hierarchy, batch, to));
    KW_ASSIGN_OR_RETURN(std::size_t applied, claim->commit(rewraps));
    rewrapped += applied;
    last_change = std::chrono::steady_clock::now();
    if (progress) progress({"catalog", rewrapped, 0});
  }
  return rewrapped;
}

Result<std::vector<FamilyStatus>> rotation_status(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog) {
  KW_ASSIGN_OR_RETURN(auto keks, hierarchy.list_keks());
  std::map<std::string, FamilyStatus> families;
  for (const auto& kek : keks) {
    auto& status = families[kek.ref.family];
    status.family = kek.ref.family;
    status.token_versions.push_back(kek.ref.version);
  }
  std::vector<FamilyStatus> out;
  for (auto& [name, status] : families) {
    KW_ASSIGN_OR_RETURN(status.versions, catalog.kek_versions(name));
    KW_ASSIGN_OR_RETURN(status.deks_by_version, catalog.count_by_version(name));
    KW_ASSIGN_OR_RETURN(status.rotation, catalog.rotation(name));
    // Enough for a fleet's runs of the current rotation side by side (one per host, or per restart).
    KW_ASSIGN_OR_RETURN(status.recent_runs, catalog.runs(name, 16));
    out.push_back(std::move(status));
  }
  return out;
}

}  // namespace keyward::rotation
