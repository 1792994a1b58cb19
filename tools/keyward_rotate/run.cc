// keyward-rotate run [--workers N] [PATH...] and its hidden `worker` subcommand: parse, call
// rotation::run_rotation, print. The catalog phase runs here or in worker processes of this binary.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "rotation/rotation_run.h"
#include "rotation/worker_processes.h"
#include "tools/common/cli.h"
#include "tools/keyward_rotate/context.h"
#include "tools/keyward_rotate/progress.h"

namespace keyward::cli {
namespace {

constexpr std::string_view kTool = "keyward-rotate";

// The hidden `worker` subcommand's arguments for shard `shard` of `shards`.
std::vector<std::string> worker_arguments(const RotateOptions& options, const std::string& family, std::uint32_t target,
                                          std::int64_t run_id, unsigned shard, unsigned shards) {
  std::vector<std::string> args = {"keyward-rotate", "worker", "--kek", family, "--target", std::to_string(target),
                                   "--run-id", std::to_string(run_id),
                                   "--shard", std::to_string(shard), "--shards", std::to_string(shards),
                                   "--catalog", options.catalog, "--batch", std::to_string(options.batch)};
  if (options.token.accept_module_limits) args.push_back("--accept-module-limits");
  return args;
}

// Progress on the terminal (or JSON lines) and the run's messages on stderr.
class RunPrinter final : public rotation::RunObserver {
 public:
  explicit RunPrinter(bool json) : json_(json) {}
  void catalog_started(std::uint64_t pending) override { catalog_.emplace("catalog DEKs", pending, json_); }
  void catalog_progress(std::uint64_t done) override { catalog_->update(done); }
  void catalog_failed(const std::string& family, const Error& error) override {
    std::cerr << "keyward-rotate: " << family << ": catalog phase failed: " << error.message << "\n";
  }
  void catalog_finished(std::uint64_t done) override { catalog_->finish(done); }
  void files_started() override { files_.emplace("envelope files", 0, json_); }
  void files_progress(std::uint64_t done, std::uint64_t total) override { files_->update(done, total); }
  void files_finished(const rotation::FileRotation& files) override {
    files_->finish(files.seen);
    std::cerr << "keyward-rotate: " << files.rewrapped << " envelope key section(s) rewrapped, " << files.skipped
              << " already current, " << files.not_envelopes.size() << " non-envelope file(s) left alone, "
              << files.failures.size() << " could not be rewrapped\n";
    for (const auto& failure : files.failures)
      std::cerr << "keyward-rotate: NOT ROTATED: " << failure.path << ": " << category_name(failure.error.category) << ": "
                << failure.error.message << "\n";
  }

 private:
  bool json_;
  std::optional<ProgressDisplay> catalog_, files_;
};

}  // namespace

int run_worker(const RotateOptions& options) {
  auto rewrapped = rotation::rewrap_shard_in_module_lifetimes(
      [&]() -> Result<std::unique_ptr<rotation::WorkerSession>> {
        KW_ASSIGN_OR_RETURN(auto context, open_rotate_context(options));
        return std::unique_ptr<rotation::WorkerSession>(std::move(context));
      },
      options.kek_family, options.target, rotation::shard_of(options.shard, options.shards), options.batch,
      [](std::string_view line) {
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fflush(stdout);
      },
      options.run_id);
  if (!rewrapped) return report(kTool, rewrapped.error());
  return kExitOk;
}

int run_rotation(const RotateOptions& options, const char* self) {
  if (!options.token.uri.empty()) ::setenv("KEYWARD_TOKEN", options.token.uri.c_str(), 1);  // for the workers
  auto context = open_rotate_context(options);
  if (!context) return report(kTool, context.error());
  auto& hierarchy = (*context)->hierarchy();
  auto& catalog = (*context)->catalog();
  rotation::CatalogPhase in_workers = [&](const std::string& family, std::uint32_t target, std::int64_t run_id,
                                          const std::function<void(std::uint64_t)>& progress) {
    std::vector<std::vector<std::string>> argvs;
    for (unsigned shard = 0; shard < options.workers; ++shard)
      argvs.push_back(worker_arguments(options, family, target, run_id, shard, options.workers));
    return rotation::run_worker_processes(self, argvs, progress);
  };
  RunPrinter printer(options.json);
  auto ran = rotation::run_rotation(hierarchy, catalog, {options.kek_family, options.paths},
                                    options.workers > 1 ? in_workers
                                                        : rotation::in_process_catalog_phase(hierarchy, catalog, options.batch),
                                    printer);
  if (!ran) return report(kTool, ran.error());
  for (const auto& record : ran->records) {
    std::cerr << "keyward-rotate: run " << record.run_id << " of '" << record.family << "' to v" << record.target_version << ": "
              << hierarchy::run_outcome_name(record.outcome) << "; covered the catalog";
    for (const auto& path : record.paths) std::cerr << ", " << path;
    if (!record.reason.empty()) std::cerr << "; " << record.reason;
    std::cerr << "\n";
  }
  switch (ran->verdict) {
    case rotation::RunVerdict::complete:
      std::cerr << "keyward-rotate: rotation complete\n";
      return kExitOk;
    case rotation::RunVerdict::damaged_data:
    case rotation::RunVerdict::infrastructure:
      break;
  }
  std::cerr << "keyward-rotate: rotation INCOMPLETE: fix or move what is listed and run again; retire stays refused until a "
               "run completes\n";
  // 3 when something outside the data failed (token, catalog, file system): rerunning may be enough.
  return ran->verdict == rotation::RunVerdict::infrastructure ? kExitToken : kExitFailed;
}

}  // namespace keyward::cli
