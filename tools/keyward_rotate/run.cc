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

#include "hierarchy/rotation.h"
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
  auto families = hierarchy::rotation_status(hierarchy, catalog);
  if (!families) return report(kTool, families.error());

  std::map<std::string, std::uint32_t> targets;
  std::uint64_t pending = 0;
  for (const auto& family : *families) {
    if (!options.kek_family.empty() && family.family != options.kek_family) continue;
    if (family.token_versions.empty()) continue;
    const std::uint32_t target = *std::max_element(family.token_versions.begin(), family.token_versions.end());
    targets[family.family] = target;
    for (const auto& [version, count] : family.deks_by_version)
      if (version < target) pending += count;
  }
  if (!options.kek_family.empty() && targets.empty())
    return report(kTool, Error{ErrorCategory::not_found, "no KEK family '" + options.kek_family + "' on the token", std::nullopt});

  ProgressDisplay catalog_progress("catalog DEKs", pending, options.json);
  std::uint64_t base = 0;
  for (const auto& [family, target] : targets) {
    if (options.workers > 1) {
      // Separate processes: SoftHSM serialises the threads of one process, and real HSMs accept
      // several sessions from several clients; processes scale on both.
      if (auto ran = run_workers(self, options, family, target, catalog_progress, base); !ran) return report(kTool, ran.error());
    } else {
      auto rewrapped = hierarchy::rewrap_catalog(
          hierarchy, catalog, family, target, hierarchy::Shard{}, options.batch,
          [&](const hierarchy::RotationProgress& p) { catalog_progress.update(base + p.done); });
      if (!rewrapped) return report(kTool, rewrapped.error());
    }
    auto counts = catalog.count_by_version(family);
    if (!counts) return report(kTool, counts.error());
    std::uint64_t left = 0;
    for (const auto& [version, count] : *counts)
      if (version < target) left += count;
    base = pending - left;  // what is done so far, whatever the workers reported
  }
  catalog_progress.finish(base);

  if (!options.paths.empty()) {
    ProgressDisplay file_progress("envelope files", 0, options.json);
    auto files = hierarchy::rewrap_files(hierarchy, catalog, options.paths, targets,
                                         [&](const hierarchy::RotationProgress& p) { file_progress.update(p.done, p.total); });
    if (!files) return report(kTool, files.error());
    file_progress.finish(files->seen);
    std::cerr << "keyward-rotate: " << files->rewrapped << " envelope key section(s) rewrapped, " << files->skipped
              << " already current, " << files->not_envelopes.size() << " non-envelope file(s) left alone\n";
  }
  bool all_done = true;
  for (const auto& [family, target] : targets) {
    auto done = hierarchy::finish_rotation_if_done(hierarchy, catalog, family);
    if (!done) return report(kTool, done.error());
    all_done = all_done && *done;
  }
  std::cerr << "keyward-rotate: " << (all_done ? "rotation complete" : "rotation incomplete: run again") << "\n";
  return all_done ? kExitOk : kExitFailed;
}

}  // namespace keyward::cli
