#include "rotation/rotation_runs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include "envelope/key_slots.h"
#include "hierarchy/envelope_keys.h"

namespace keyward::rotation {
namespace fs = std::filesystem;
namespace {

std::string normalised_absolute(const std::string& path) {
  std::string out = fs::absolute(fs::path(path)).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// Every regular file under `paths`: symbolic links are followed (envelopes behind a link to a
// directory are data too), each directory and file is visited once (by device and inode, which also
// stops link cycles). A directory that cannot be listed is a failure, not a silent skip.
void collect_files(const std::vector<std::string>& paths, std::vector<std::string>& out_files,
                   std::vector<FileFailure>& out_failures) {
  std::set<std::pair<dev_t, ino_t>> seen;
  std::vector<std::string> pending(paths.rbegin(), paths.rend());
  while (!pending.empty()) {
    const std::string path = std::move(pending.back());
    pending.pop_back();
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
      out_failures.push_back({path, "", Error{ErrorCategory::io, std::string("cannot stat: ") + std::strerror(errno), std::nullopt}});
      continue;
    }
    if (!seen.insert({info.st_dev, info.st_ino}).second) continue;
    if (S_ISREG(info.st_mode)) {
      out_files.push_back(path);
      continue;
    }
    if (!S_ISDIR(info.st_mode)) continue;  // FIFOs, sockets, devices: not envelopes, never opened
    std::error_code error;
    std::vector<std::string> children;
    for (fs::directory_iterator it(path, error), end; !error && it != end; it.increment(error))
      children.push_back(it->path().string());
    if (error) {
      out_failures.push_back({path, "", Error{ErrorCategory::io, "cannot list the directory: " + error.message(), std::nullopt}});
      continue;
    }
    std::sort(children.rbegin(), children.rend());  // visited in name order
    for (auto& child : children) pending.push_back(std::move(child));
  }
}

// True if the file starts with the envelope magic. A file that does is an envelope, and if it does
// not parse it is a damaged one (listed, never skipped as "not an envelope").
Result<bool> has_envelope_magic(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return make_error(ErrorCategory::io, std::string("cannot open: ") + std::strerror(errno));
  std::uint8_t head[envelope::kMagic.size()] = {};
  std::size_t have = 0;
  while (have < sizeof head) {
    const ssize_t n = ::read(fd, head + have, sizeof head - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return have == sizeof head && std::equal(envelope::kMagic.begin(), envelope::kMagic.end(), head);
}

}  // namespace

bool is_damaged_data(const Error& error) {
  switch (error.category) {
    case ErrorCategory::corrupt_input:
    case ErrorCategory::authentication:
    case ErrorCategory::not_found:  // under a KEK version the token no longer holds
    case ErrorCategory::shredded:
      return true;
    default:
      return false;
  }
}

Result<RunPlan> plan_rotation_run(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const std::string& only_family) {
  KW_ASSIGN_OR_RETURN(auto families, rotation_status(hierarchy, catalog));
  RunPlan plan;
  for (const auto& family : families) {
    if (!only_family.empty() && family.family != only_family) continue;
    if (family.token_versions.empty()) continue;
    const std::uint32_t target = *std::max_element(family.token_versions.begin(), family.token_versions.end());
    plan.targets[family.family] = target;
    auto& pending = plan.pending[family.family];
    for (const auto& [version, count] : family.deks_by_version)
      if (version < target) pending += count;
  }
  if (!only_family.empty() && plan.targets.empty())
    return make_error(ErrorCategory::not_found, "no KEK family '" + only_family + "' on the token");
  return plan;
}

Result<ActiveRun> begin_rotation_run(hierarchy::Catalog& catalog, RunPlan plan, const std::vector<std::string>& paths) {
  ActiveRun run;
  for (const auto& path : paths) {
    std::error_code error;
    if (!fs::is_directory(path, error) && !fs::is_regular_file(path, error))
      return make_error(ErrorCategory::usage, "'" + path + "' is neither a file nor a directory");
    run.paths.push_back(normalised_absolute(path));
  }
  std::sort(run.paths.begin(), run.paths.end());
  run.paths.erase(std::unique(run.paths.begin(), run.paths.end()), run.paths.end());
  for (const auto& [family, target] : plan.targets) {
    KW_ASSIGN_OR_RETURN(run.run_ids[family], catalog.begin_run(family, target, run.paths));
  }
  run.plan = std::move(plan);
  return run;
}

Result<FileRotation> rewrap_run_files(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const ActiveRun& run,
                                      const ProgressCallback& progress) {
  FileRotation result;
  std::vector<std::string> files;
  collect_files(run.paths, files, result.failures);
  std::vector<std::int64_t> every_run;
  for (const auto& [family, id] : run.run_ids) every_run.push_back(id);
  // Directories that could not be listed: recorded against every family (they may hold any).
  for (const auto& failure : result.failures)
    KW_TRY(catalog.record_run_file(every_run, {failure.path, hierarchy::FileOutcome::failed, "", 0, failure.error.message}));

  auto fail_file = [&](const std::string& path, const std::string& family, std::uint32_t version, Error error) -> Status {
    std::vector<std::int64_t> ids = every_run;
    if (!family.empty()) {
      ids.clear();
      if (auto id = run.run_ids.find(family); id != run.run_ids.end()) ids.push_back(id->second);
    }
    KW_TRY(catalog.record_run_file(ids, {path, hierarchy::FileOutcome::failed, family, version, error.message}));
    result.failures.push_back({path, family, std::move(error)});
    return {};
  };
  for (const auto& file : files) {
    ++result.seen;
    if (progress) progress({"files", result.seen, files.size()});
    auto magic = has_envelope_magic(file);
    if (!magic) {
      KW_TRY(fail_file(file, "", 0, magic.error()));
      continue;
    }
    if (!*magic) {
      result.not_envelopes.push_back(file);
      continue;
    }
    auto prefix = envelope::read_envelope_prefix(file);
    if (!prefix) {
      KW_TRY(fail_file(file, "", 0, prefix.error()));
      continue;
    }
    const auto& section = prefix->key_section;
    auto target = run.plan.targets.find(section.kek_family);
    auto id = run.run_ids.find(section.kek_family);
    std::vector<std::int64_t> ids;
    if (id != run.run_ids.end()) ids.push_back(id->second);
    if (target == run.plan.targets.end() || section.kek_version >= target->second) {
      ++result.skipped;
      KW_TRY(catalog.record_run_file(ids, {file, hierarchy::FileOutcome::current, section.kek_family, section.kek_version, ""}));
      continue;
    }
    if (auto rewrapped = hierarchy::rewrap_envelope_key_section(hierarchy, file, hierarchy::KekRef{section.kek_family, target->second}); !rewrapped) {
      KW_TRY(fail_file(file, section.kek_family, section.kek_version, rewrapped.error()));
      continue;
    }
    ++result.rewrapped;
    KW_TRY(catalog.record_run_file(ids, {file, hierarchy::FileOutcome::rewrapped, section.kek_family, target->second, ""}));
  }
  return result;
}

Result<std::vector<hierarchy::RunRecord>> finish_rotation_run(hierarchy::Catalog& catalog, const ActiveRun& run,
                                                   const std::map<std::string, Error>& catalog_errors,
                                                   const FileRotation& files) {
  std::vector<hierarchy::RunRecord> records;
  for (const auto& [family, run_id] : run.run_ids) {
    const std::uint32_t target = run.plan.targets.at(family);
    std::vector<std::string> reasons;
    if (auto error = catalog_errors.find(family); error != catalog_errors.end())
      reasons.push_back("the catalog phase failed: " + error->second.message);
    KW_ASSIGN_OR_RETURN(auto counts, catalog.count_by_version(family));
    std::uint64_t left = 0;
    for (const auto& [version, count] : counts)
      if (version < target) left += count;
    if (left > 0) reasons.push_back(std::to_string(left) + " catalog DEK(s) still under versions below v" + std::to_string(target));
    const auto failed = std::count_if(files.failures.begin(), files.failures.end(), [&](const FileFailure& f) {
      return f.kek_family.empty() || f.kek_family == family;
    });
    if (failed > 0) reasons.push_back(std::to_string(failed) + " file(s) or director(ies) could not be rewrapped");
    std::string reason;
    for (const auto& r : reasons) reason += (reason.empty() ? "" : "; ") + r;
    const bool complete = reasons.empty();
    KW_TRY(catalog.finish_run(run_id, left == 0 && !catalog_errors.contains(family),
                              complete ? hierarchy::RunOutcome::complete : hierarchy::RunOutcome::incomplete, reason));
    if (complete) {
      KW_ASSIGN_OR_RETURN(auto rotation, catalog.rotation(family));
      if (rotation && rotation->finished == 0 && rotation->target_version <= target) {
        rotation->finished = std::max<std::int64_t>(rotation->started, 1);
        KW_ASSIGN_OR_RETURN(auto recent, catalog.runs(family, 64));
        for (const auto& record : recent)
          if (record.run_id == run_id) rotation->finished = record.finished;
        KW_TRY(catalog.set_rotation(*rotation));
      }
    }
    KW_ASSIGN_OR_RETURN(auto recent, catalog.runs(family, 64));  // this run, even with others running beside it
    for (auto& record : recent)
      if (record.run_id == run_id) records.push_back(std::move(record));
  }
  return records;
}

}  // namespace keyward::rotation
