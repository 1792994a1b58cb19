// keyward-rotate run [--workers N] [PATH...]: catalog DEKs in worker processes, then envelope files.
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>

#include "rotation/rotation.h"
#include "rotation/rotation_runs.h"
#include "tools/common/cli.h"
#include "tools/keyward_rotate/context.h"
#include "tools/keyward_rotate/progress.h"

extern char** environ;

namespace keyward::cli {
namespace {

constexpr std::string_view kTool = "keyward-rotate";
// A worker re-initialises its module after this many rewraps to bound its memory (SoftHSM keeps
// ~240 bytes per destroyed session object until the module is finalised: +24 MB per 100 000 rewraps otherwise).
constexpr std::uint64_t kRewrapsPerModuleLifetime = 20'000;

struct Child {
  pid_t pid = -1;
  int out = -1;
  std::string buffer;
  std::uint64_t done = 0;
};

Result<Child> spawn_worker(const char* self, const RotateOptions& options, const std::string& family, std::uint32_t target,
                           unsigned shard, unsigned shards) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return make_error(ErrorCategory::io, "cannot create a pipe for a worker");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  std::vector<std::string> args = {"keyward-rotate", "worker", "--kek", family, "--target", std::to_string(target),
                                   "--shard", std::to_string(shard), "--shards", std::to_string(shards),
                                   "--catalog", options.catalog, "--batch", std::to_string(options.batch)};
  if (options.token.accept_module_limits) args.push_back("--accept-module-limits");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  Child child;
  // The token URI travels in the environment (KEYWARD_TOKEN), never on a command line.
  const int rc = posix_spawn(&child.pid, self, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    return make_error(ErrorCategory::io, std::string("cannot start a worker: ") + std::strerror(rc));
  }
  child.out = pipe_fds[0];
  return child;
}

// Runs the workers, summing their progress lines; fails if any worker fails.
Status run_workers(const char* self, const RotateOptions& options, const std::string& family, std::uint32_t target,
                   ProgressDisplay& display, std::uint64_t base) {
  std::vector<Child> children;
  for (unsigned i = 0; i < options.workers; ++i) {
    KW_ASSIGN_OR_RETURN(auto child, spawn_worker(self, options, family, target, i, options.workers));
    children.push_back(std::move(child));
  }
  std::size_t open = children.size();
  while (open > 0) {
    std::vector<pollfd> fds;
    for (auto& child : children)
      if (child.out >= 0) fds.push_back({child.out, POLLIN, 0});
    ::poll(fds.data(), fds.size(), 1000);
    for (auto& child : children) {
      if (child.out < 0) continue;
      char chunk[4096];
      ssize_t n = ::read(child.out, chunk, sizeof chunk);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        ::close(child.out);
        child.out = -1;
        --open;
        continue;
      }
      if (n < 0) continue;
      child.buffer.append(chunk, static_cast<std::size_t>(n));
      for (auto end = child.buffer.find('\n'); end != std::string::npos; end = child.buffer.find('\n')) {
        auto line = nlohmann::json::parse(child.buffer.substr(0, end), nullptr, false);
        child.buffer.erase(0, end + 1);
        if (line.is_object() && line.contains("done")) child.done = line["done"].get<std::uint64_t>();
      }
      std::uint64_t done = base;
      for (const auto& c : children) done += c.done;
      display.update(done);
    }
  }
  int failed = 0, last_status = 0;
  for (auto& child : children) {
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++failed;
      last_status = status;
    }
  }
  if (failed)
    return make_error(ErrorCategory::token, std::to_string(failed) + " worker(s) failed (last status " + std::to_string(last_status) +
                                                "); nothing is lost: rerun keyward-rotate run to finish");
  return {};
}

}  // namespace

int run_worker(const RotateOptions& options) {
  const auto shard = hierarchy::shard_of(options.shard, options.shards);
  std::uint64_t total = 0;
  for (;;) {
    // One module lifetime: open, rewrap up to the limit, close (finalising the module releases SoftHSM's memory).
    auto context = open_rotate_context(options);
    if (!context) return report(kTool, context.error());
    auto rewrapped = hierarchy::rewrap_catalog(
        *context->token.hierarchy, *context->catalog, options.kek_family, options.target, shard, options.batch,
        [&](const hierarchy::RotationProgress& p) {
          std::printf("{\"done\":%llu}\n", static_cast<unsigned long long>(total + p.done));
          std::fflush(stdout);
        },
        kRewrapsPerModuleLifetime);
    if (!rewrapped) return report(kTool, rewrapped.error());
    total += *rewrapped;
    if (*rewrapped < kRewrapsPerModuleLifetime) return kExitOk;
  }
}

int run_rotation(const RotateOptions& options, const char* self) {
  if (!options.token.uri.empty()) ::setenv("KEYWARD_TOKEN", options.token.uri.c_str(), 1);  // for the workers
  auto context = open_rotate_context(options);
  if (!context) return report(kTool, context.error());
  auto& hierarchy = *context->token.hierarchy;
  auto& catalog = *context->catalog;
  auto plan = hierarchy::plan_rotation_run(hierarchy, catalog, options.kek_family);
  if (!plan) return report(kTool, plan.error());
  auto run = hierarchy::begin_rotation_run(catalog, std::move(*plan), options.paths);
  if (!run) return report(kTool, run.error());

  std::uint64_t pending = 0;
  for (const auto& [family, count] : run->plan.pending) pending += count;
  ProgressDisplay catalog_progress("catalog DEKs", pending, options.json);
  std::map<std::string, Error> catalog_errors;
  std::uint64_t base = 0;
  for (const auto& [family, target] : run->plan.targets) {
    Status ran;
    if (options.workers > 1) {
      // Separate processes: SoftHSM serialises the threads of one process, and real HSMs accept
      // several sessions from several clients; processes scale on both.
      ran = run_workers(self, options, family, target, catalog_progress, base);
    } else if (auto rewrapped = hierarchy::rewrap_catalog(
                   hierarchy, catalog, family, target, hierarchy::Shard{}, options.batch,
                   [&](const hierarchy::RotationProgress& p) { catalog_progress.update(base + p.done); });
               !rewrapped) {
      ran = std::unexpected(rewrapped.error());
    }
    // A family whose catalog phase failed is recorded incomplete; the others, and the files, go on.
    if (!ran) {
      std::cerr << "keyward-rotate: " << family << ": catalog phase failed: " << ran.error().message << "\n";
      catalog_errors.emplace(family, ran.error());
    }
    base += run->plan.pending.at(family);
  }
  catalog_progress.finish(base);

  hierarchy::FileRotation files;
  if (!run->paths.empty()) {
    ProgressDisplay file_progress("envelope files", 0, options.json);
    auto rotated = hierarchy::rewrap_run_files(hierarchy, catalog, *run,
                                               [&](const hierarchy::RotationProgress& p) { file_progress.update(p.done, p.total); });
    if (!rotated) return report(kTool, rotated.error());
    files = std::move(*rotated);
    file_progress.finish(files.seen);
    std::cerr << "keyward-rotate: " << files.rewrapped << " envelope key section(s) rewrapped, " << files.skipped
              << " already current, " << files.not_envelopes.size() << " non-envelope file(s) left alone, "
              << files.failures.size() << " could not be rewrapped\n";
    for (const auto& failure : files.failures)
      std::cerr << "keyward-rotate: NOT ROTATED: " << failure.path << ": " << category_name(failure.error.category) << ": "
                << failure.error.message << "\n";
  }
  auto records = hierarchy::finish_rotation_run(catalog, *run, catalog_errors, files);
  if (!records) return report(kTool, records.error());
  bool all_complete = true;
  for (const auto& record : *records) {
    all_complete = all_complete && record.outcome == hierarchy::RunOutcome::complete;
    std::cerr << "keyward-rotate: run " << record.run_id << " of '" << record.family << "' to v" << record.target_version << ": "
              << hierarchy::run_outcome_name(record.outcome) << "; covered the catalog";
    for (const auto& path : record.paths) std::cerr << ", " << path;
    if (!record.reason.empty()) std::cerr << "; " << record.reason;
    std::cerr << "\n";
  }
  std::cerr << "keyward-rotate: " << (all_complete ? "rotation complete" : "rotation INCOMPLETE: fix or move what is listed and run again; retire stays refused until a run completes") << "\n";
  if (all_complete) return kExitOk;
  // 3 when something outside the data failed (token, catalog, file system): rerunning may be enough.
  bool infrastructure = !catalog_errors.empty();
  for (const auto& failure : files.failures) infrastructure = infrastructure || !hierarchy::is_damaged_data(failure.error);
  return infrastructure ? kExitToken : kExitFailed;
}

}  // namespace keyward::cli
