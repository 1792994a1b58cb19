// The catalog phase in worker processes, one shard of the DEK ID space each (rotation.h shard_of).
//
// Processes, not threads: SoftHSM serialises the threads of one process, and real HSMs accept
// sessions from several clients; processes scale on both. Spawning stays a process concern (the
// caller names the executable and each worker's arguments); the supervision, the progress protocol
// and the worker's loop live here so that both ends of the pipe read the same rules.
//
// Protocol: a worker writes one line per committed batch on stdout, {"done":N}, N counting the DEKs
// it has rewrapped so far; its exit status 0 means its shard is done.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "hierarchy/key_hierarchy.h"
#include "rotation/rotation.h"

namespace keyward::rotation {

// A worker re-initialises its module after this many rewraps to bound its memory (SoftHSM keeps
// ~240 bytes per destroyed session object until the module is finalised: +24 MB per 100 000 rewraps otherwise).
inline constexpr std::uint64_t kRewrapsPerModuleLifetime = 20'000;

// One progress line of the protocol, with its newline.
std::string worker_progress_line(std::uint64_t done);
// The count in a progress line (without its newline), or nothing for any other line.
std::optional<std::uint64_t> parse_worker_progress_line(std::string_view line);

// Starts one process per entry of `argvs` (argv[0] included) running `executable`, with this
// process's environment (the token URI travels there, never on a command line), and waits for all,
// calling `progress` with the sum of their counts whenever one reports. Fails (token category, "rerun
// to finish": every committed batch is durable) if any worker fails; io if one cannot be started.
Status run_worker_processes(const std::string& executable, const std::vector<std::vector<std::string>>& argvs,
                            const std::function<void(std::uint64_t done)>& progress);

// What one module lifetime of a worker uses; destroying it finalises the module.
class WorkerSession {
 public:
  virtual ~WorkerSession() = default;
  virtual hierarchy::KeyHierarchy& hierarchy() = 0;
  virtual hierarchy::Catalog& catalog() = 0;
};
using OpenWorkerSession = std::function<Result<std::unique_ptr<WorkerSession>>()>;

// The worker's side: rewraps `shard` of `family` below `target` (or, where the catalog claims batches,
// any unclaimed batches of the family for run `run_id`, ignoring the shard), opening a new session
// (and module) every kRewrapsPerModuleLifetime rewraps, and writes a progress line through
// `report_line` after every batch. Returns the number of DEKs it rewrapped.
Result<std::uint64_t> rewrap_shard_in_module_lifetimes(const OpenWorkerSession& open, const std::string& family,
                                                       std::uint32_t target, const Shard& shard, std::size_t batch,
                                                       const std::function<void(std::string_view)>& report_line,
                                                       std::int64_t run_id = 0);

}  // namespace keyward::rotation
