#include "hierarchy/rotation.h"

#include <chrono>
#include <filesystem>
#include <future>
#include <set>

#include "envelope/key_slots.h"
#include "hierarchy/envelope_keys.h"
#include "hierarchy/labels.h"
#include "hierarchy/token_objects.h"

namespace keyward::hierarchy {
namespace {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Status write_file(const std::string& path, const std::string& text) {
  std::FILE* file = std::fopen(path.c_str(), "wx");
  if (file == nullptr) return make_error(ErrorCategory::io, "cannot create '" + path + "' (it may already exist)");
  const bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  return std::fclose(file) == 0 && ok ? Status{} : make_error(ErrorCategory::io, "cannot write '" + path + "'");
}

}  // namespace

Result<std::uint32_t> rotation_target(KeyHierarchy& hierarchy, const std::string& family) {
  KW_ASSIGN_OR_RETURN(std::uint32_t newest, hierarchy.latest_kek_version(family));
  if (newest == 0) return make_error(ErrorCategory::not_found, "no KEK family '" + family + "' on the token");
  return newest;
}

Result<KekCreated> start_rotation(KeyHierarchy& hierarchy, Catalog& catalog, const std::string& family) {
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
      if (record.version == v && record.state == KekState::retired) retired = true;
    if (!retired) KW_TRY(catalog.set_kek_version({family, v, KekState::decrypt_only, 0, 0}));
  }
  KW_TRY(catalog.set_kek_version({family, target, KekState::active, 0, 0}));
  KW_TRY(catalog.set_rotation({family, target, now_seconds(), 0}));
  return created;
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

Result<std::uint64_t> rewrap_catalog(KeyHierarchy& hierarchy, Catalog& catalog, const std::string& family,
                                     std::uint32_t target, const Shard& shard, std::size_t batch_size,
                                     const ProgressCallback& progress, std::uint64_t max_rewraps) {
  // Shard bounds are exclusive; the only IDs no shard covers are all-zero and all-FF, which random
  // 128-bit DEK IDs are not (probability 2^-127).
  const KekRef to{family, target};
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
    std::vector<KeyHierarchy::WrappedUnder> inputs;
    inputs.reserve(batch.size());
    for (const auto& record : batch) inputs.push_back({record.kek_version, record.wrapped});
    KW_ASSIGN_OR_RETURN(auto new_wrapped, hierarchy.rewrap_deks_in_token(inputs, to));
    std::vector<Rewrap> rewraps;
    rewraps.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i)
      rewraps.push_back(Rewrap{batch[i].dek_id, batch[i].kek_version, target, std::move(new_wrapped[i])});
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

Result<FileRotation> rewrap_files(KeyHierarchy& hierarchy, Catalog& catalog, const std::vector<std::string>& paths,
                                  const std::map<std::string, std::uint32_t>& targets, const ProgressCallback& progress) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& path : paths) {
    std::error_code error;
    if (fs::is_directory(path, error)) {
      for (auto it = fs::recursive_directory_iterator(path, error); !error && it != fs::recursive_directory_iterator(); it.increment(error))
        if (it->is_regular_file()) files.push_back(it->path().string());
    } else if (fs::is_regular_file(path, error)) {
      files.push_back(path);
    } else {
      return make_error(ErrorCategory::usage, "'" + path + "' is neither a file nor a directory");
    }
    if (error) return make_error(ErrorCategory::io, "cannot walk '" + path + "': " + error.message());
  }
  FileRotation result;
  std::vector<FileReference> references;
  for (const auto& file : files) {
    ++result.seen;
    auto prefix = envelope::read_envelope_prefix(file);
    if (!prefix) {
      if (prefix.error().category == ErrorCategory::corrupt_input) {
        result.not_envelopes.push_back(file);
        continue;
      }
      return std::unexpected(prefix.error());
    }
    auto section = prefix->key_section;
    auto target = targets.find(section.kek_family);
    if (target != targets.end() && section.kek_version < target->second) {
      KW_TRY(rewrap_envelope_key_section(hierarchy, file, KekRef{section.kek_family, target->second}));
      section.kek_version = target->second;
      ++result.rewrapped;
    } else {
      ++result.skipped;
    }
    references.push_back({fs::absolute(file).string(), section.kek_family, section.kek_version});
    if (progress) progress({"files", result.seen, files.size()});
  }
  KW_TRY(catalog.record_file_references(references));
  return result;
}

Result<std::vector<FamilyStatus>> rotation_status(KeyHierarchy& hierarchy, Catalog& catalog) {
  KW_ASSIGN_OR_RETURN(auto keks, hierarchy.list_keks());
  std::map<std::string, FamilyStatus> families;
  for (const auto& kek : keks) {
    auto& status = families[kek.ref.name];
    status.family = kek.ref.name;
    status.token_versions.push_back(kek.ref.version);
  }
  std::vector<FamilyStatus> out;
  for (auto& [name, status] : families) {
    KW_ASSIGN_OR_RETURN(status.versions, catalog.kek_versions(name));
    KW_ASSIGN_OR_RETURN(status.deks_by_version, catalog.count_by_version(name));
    KW_ASSIGN_OR_RETURN(status.rotation, catalog.rotation(name));
    out.push_back(std::move(status));
  }
  return out;
}

Result<bool> finish_rotation_if_done(KeyHierarchy& hierarchy, Catalog& catalog, const std::string& family) {
  KW_ASSIGN_OR_RETURN(std::uint32_t target, rotation_target(hierarchy, family));
  KW_ASSIGN_OR_RETURN(auto counts, catalog.count_by_version(family));
  for (const auto& [version, count] : counts)
    if (version < target && count > 0) return false;
  KW_ASSIGN_OR_RETURN(auto rotation, catalog.rotation(family));
  if (rotation && rotation->finished == 0) {
    rotation->finished = now_seconds();
    KW_TRY(catalog.set_rotation(*rotation));
  }
  return true;
}

Status retire_kek_version(KeyHierarchy& hierarchy, Catalog& catalog, const std::string& family, std::uint32_t version,
                          const std::optional<std::string>& escrow_path) {
  KW_ASSIGN_OR_RETURN(std::uint32_t newest, rotation_target(hierarchy, family));
  if (version >= newest)
    return make_error(ErrorCategory::usage, "v" + std::to_string(version) + " is the newest version of '" + family +
                                                "': start a rotation before retiring it");
  KW_ASSIGN_OR_RETURN(std::uint64_t references, catalog.references_to(family, version));
  if (references > 0)
    return make_error(ErrorCategory::policy, "refusing to retire " + kek_label(family, version) + ": " +
                                                 std::to_string(references) +
                                                 " DEK(s) or envelope file(s) still reference it — run keyward-rotate run "
                                                 "(with the envelope paths) first");
  if (escrow_path) {
    KW_ASSIGN_OR_RETURN(auto blob, hierarchy.export_kek(KekRef{family, version}));
    KW_TRY(write_file(*escrow_path, blob.to_json()));
  }
  KW_TRY(hierarchy.destroy_kek(KekRef{family, version}));
  return catalog.set_kek_version({family, version, KekState::retired, 0, now_seconds()});
}

}  // namespace keyward::hierarchy
