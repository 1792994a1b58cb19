// retire: the one rotation step that destroys key material, so it proves first that nothing needs it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "hierarchy/audited.h"
#include "hierarchy/labels.h"
#include "rotation/rotation.h"

namespace keyward::rotation {
namespace {

// The escrow blob is the only way back once the version is destroyed: created 0600 whatever the
// umask (it is the KEK wrapped under the root), never over an existing file, and durable (file and
// directory fsynced) before the caller destroys anything.
Status write_escrow_durably(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return make_error(errno == EEXIST ? ErrorCategory::usage : ErrorCategory::io,
                      "cannot create the escrow file '" + path + "': " + std::strerror(errno) +
                          (errno == EEXIST ? " (refusing to overwrite it: choose a new file)" : ""));
  auto failed = [&](const char* what) {
    const int saved = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return make_error(ErrorCategory::io, std::string(what) + " the escrow file '" + path + "': " + std::strerror(saved));
  };
  if (::fchmod(fd, 0600) != 0) return failed("cannot set the mode of");
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failed("cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return failed("cannot fsync");
  if (::close(fd) != 0) {
    ::unlink(path.c_str());
    return make_error(ErrorCategory::io, "cannot close the escrow file '" + path + "'");
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
    if (dir_fd >= 0) ::close(dir_fd);
    return make_error(ErrorCategory::io, "cannot fsync the directory of the escrow file '" + path +
                                             "': the escrow may not survive a crash");
  }
  ::close(dir_fd);
  return {};
}

bool covers(const std::vector<std::string>& roots, const std::string& path) {
  return std::any_of(roots.begin(), roots.end(), [&](const std::string& root) {
    return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                            (root == "/" || path[root.size()] == '/'));
  });
}

std::string describe(const hierarchy::RunRecord& run) {
  std::string paths;
  for (const auto& p : run.paths) paths += (paths.empty() ? "" : ", ") + p;
  return "run " + std::to_string(run.run_id) + " (to v" + std::to_string(run.target_version) + ", " +
         hierarchy::run_outcome_name(run.outcome) + "; catalog" + (paths.empty() ? " only, no envelope paths" : " and " + paths) + ")";
}

// Paths given to runs of this rotation whose newest covering run did not complete. A fleet's hosts
// each rotate the paths they hold: every path any run was given must be covered by a complete run,
// and the newest run covering it must be that complete one (a later, interrupted run over the same
// path may have met files the complete one did not).
std::vector<std::string> uncovered_paths(const std::vector<hierarchy::RunRecord>& runs_newest_first) {
  std::vector<std::string> uncovered;
  for (const auto& run : runs_newest_first)
    for (const auto& path : run.paths) {
      for (const auto& newer : runs_newest_first) {
        if (!covers(newer.paths, path)) continue;
        if (newer.outcome != hierarchy::RunOutcome::complete &&
            std::find(uncovered.begin(), uncovered.end(), path) == uncovered.end())
          uncovered.push_back(path);
        break;  // the newest run covering the path decides
      }
    }
  return uncovered;
}

// Why `facts` do not allow retiring, or "" if they do.
std::string refusal(const hierarchy::RetireFacts& facts, const std::vector<hierarchy::RunRecord>& rotation_runs) {
  std::vector<std::string> reasons;
  const std::string v = "v" + std::to_string(facts.version);
  if (!facts.newest_run_after) {
    reasons.push_back("no keyward-rotate run has been made since " + v + " stopped being the newest version");
  } else if (facts.newest_run_after->outcome != hierarchy::RunOutcome::complete) {
    const auto& run = *facts.newest_run_after;
    reasons.push_back("the newest run since then, " + describe(run) + ", did not complete" +
                      (run.outcome == hierarchy::RunOutcome::running ? " (it is still running, or was killed)" : ": " + run.reason));
  } else {
    const auto uncovered = uncovered_paths(rotation_runs);
    if (!uncovered.empty()) {
      std::string list;
      for (const auto& p : uncovered) list += (list.empty() ? "" : ", ") + p;
      reasons.push_back("the newest complete run, " + describe(*facts.newest_run_after) +
                        ", proves the catalog, but the newest run over these paths given to runs of this rotation "
                        "did not complete: " + list);
    }
  }
  if (facts.deks > 0) reasons.push_back(std::to_string(facts.deks) + " catalog DEK(s) still reference " + v);
  if (facts.file_count > 0) {
    std::string list;
    for (const auto& f : facts.files) list += (list.empty() ? "" : ", ") + f.path;
    reasons.push_back(std::to_string(facts.file_count) + " envelope file(s) still reference " + v + ": " + list +
                      (facts.file_count > facts.files.size() ? ", …" : ""));
  }
  std::string text;
  for (const auto& r : reasons) text += (text.empty() ? "" : "; ") + r;
  return text;
}

}  // namespace

static Result<RetireReport> retire_unaudited(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const std::string& family,
                                             std::uint32_t version, const RetireOptions& options) {
  const std::string label = hierarchy::kek_label(family, version);
  KW_ASSIGN_OR_RETURN(std::uint32_t newest, rotation_target(hierarchy, family));
  if (version >= newest)
    return make_error(ErrorCategory::usage, "v" + std::to_string(version) + " is the newest version of '" + family +
                                                "': start a rotation before retiring it");
  KW_ASSIGN_OR_RETURN(auto keks, hierarchy.list_keks());
  const bool in_token = std::any_of(keks.begin(), keks.end(), [&](const hierarchy::KekInfo& k) {
    return k.ref.family == family && k.ref.version == version;
  });
  if (options.escrow_path && ::access(options.escrow_path->c_str(), F_OK) == 0)
    return make_error(ErrorCategory::usage, "the escrow file '" + *options.escrow_path + "' already exists: refusing to overwrite it");

  // The runs of this rotation (target above `version`), from every host sharing the catalog, newest
  // first: each path any of them was given must be covered by a complete run.
  KW_ASSIGN_OR_RETURN(auto runs, catalog.runs(family, 1000));
  std::vector<hierarchy::RunRecord> rotation_runs;
  for (auto& run : runs)
    if (run.target_version > version) rotation_runs.push_back(std::move(run));

  RetireReport report;
  KW_TRY(catalog.retire_if(family, version, [&](const hierarchy::RetireFacts& facts) -> Status {
    report.already_retired_in_catalog = facts.already_retired;
    if (facts.already_retired) return {};  // marked by an earlier retire that stopped before the token
    if (!in_token) return make_error(ErrorCategory::not_found, "the token holds no " + label);
    const std::string why = refusal(facts, rotation_runs);
    if (why.empty()) {
      report.covering_run = facts.newest_run_after;
      return {};
    }
    if (options.accept_data_loss) {
      report.covering_run = facts.newest_run_after;
      report.deks_lost = facts.deks;
      report.files_lost = facts.file_count;
      return {};
    }
    return make_error(ErrorCategory::policy,
                      "refusing to retire " + label + ": " + why +
                          ". Run `keyward-rotate run --kek " + family + " PATH...` over every file or directory that holds "
                          "envelopes until it reports the rotation complete, then retire again (keyward-rotate status shows "
                          "the runs). Retiring anyway destroys every value still under it: --i-accept-data-loss");
  }));
  if (!in_token) {
    if (report.already_retired_in_catalog) return report;  // nothing left to destroy
    return make_error(ErrorCategory::not_found, "the token holds no " + label);
  }
  // From here on the catalog says retired (no new DEK can go under it); the token still holds it.
  const std::string resume = label + " is marked retired in the catalog but still on the token: fix this and run the "
                             "same retire again to finish";
  if (options.escrow_path) {
    auto blob = hierarchy.export_kek(hierarchy::KekRef{family, version});
    if (!blob) return fail(std::move(blob).error().with_context(resume));
    if (auto written = write_escrow_durably(*options.escrow_path, blob->to_json()); !written)
      return fail(std::move(written).error().with_context(resume));
  }
  if (auto destroyed = hierarchy.destroy_kek(hierarchy::KekRef{family, version}); !destroyed)
    return fail(std::move(destroyed).error().with_context(resume));
  return report;
}

Result<RetireReport> retire_kek_version(hierarchy::KeyHierarchy& hierarchy, hierarchy::Catalog& catalog, const std::string& family,
                                        std::uint32_t version, const RetireOptions& options) {
  return hierarchy::audited<RetireReport>(
      retire_unaudited(hierarchy, catalog, family, version, options),
      audit::Event{"kek.retire", "ok", hierarchy::kek_label(family, version), family, {{"accept_data_loss", options.accept_data_loss}}},
      [](const RetireReport& report, audit::Event& event) {
        event.details["deks_lost"] = report.deks_lost;
        event.details["files_lost"] = report.files_lost;
      });
}

}  // namespace keyward::rotation
