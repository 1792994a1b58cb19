#include "rotation/worker_processes.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace keyward::rotation {
namespace {

struct Worker {
  pid_t pid = -1;
  int out = -1;  // read end of the worker's stdout
  std::string buffer;
  std::uint64_t done = 0;
};

Result<Worker> spawn_worker(const std::string& executable, const std::vector<std::string>& args) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return make_error(ErrorCategory::io, "cannot create a pipe for a worker");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);  // dup2 clears close-on-exec on stdout
  std::vector<std::string> copies = args;
  std::vector<char*> argv;
  for (auto& arg : copies) argv.push_back(arg.data());
  argv.push_back(nullptr);
  Worker worker;
  const int rc = posix_spawn(&worker.pid, executable.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    return make_error(ErrorCategory::io, std::string("cannot start a worker: ") + std::strerror(rc));
  }
  worker.out = pipe_fds[0];
  return worker;
}

// Reads what `worker` wrote; false once its pipe is closed (the worker ended).
bool read_progress(Worker& worker) {
  char chunk[4096];
  const ssize_t n = ::read(worker.out, chunk, sizeof chunk);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  if (n <= 0) return false;
  worker.buffer.append(chunk, static_cast<std::size_t>(n));
  for (auto end = worker.buffer.find('\n'); end != std::string::npos; end = worker.buffer.find('\n')) {
    if (auto done = parse_worker_progress_line(std::string_view(worker.buffer).substr(0, end))) worker.done = *done;
    worker.buffer.erase(0, end + 1);
  }
  return true;
}

}  // namespace

std::string worker_progress_line(std::uint64_t done) { return "{\"done\":" + std::to_string(done) + "}\n"; }

std::optional<std::uint64_t> parse_worker_progress_line(std::string_view line) {
  const auto parsed = nlohmann::json::parse(line, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("done") || !parsed["done"].is_number_unsigned()) return std::nullopt;
  return parsed["done"].get<std::uint64_t>();
}

Status run_worker_processes(const std::string& executable, const std::vector<std::vector<std::string>>& argvs,
                            const std::function<void(std::uint64_t done)>& progress) {
  std::vector<Worker> workers;
  for (const auto& args : argvs) {
    auto worker = spawn_worker(executable, args);
    if (!worker) {
      // The ones already started end at their next progress line (SIGPIPE); none is left behind.
      for (auto& started : workers) {
        ::close(started.out);
        ::waitpid(started.pid, nullptr, 0);
      }
      return std::unexpected(std::move(worker).error());
    }
    workers.push_back(std::move(*worker));
  }
  std::size_t open = workers.size();
  while (open > 0) {
    std::vector<pollfd> fds;
    std::vector<Worker*> polled;
    for (auto& worker : workers) {
      if (worker.out < 0) continue;
      fds.push_back({worker.out, POLLIN, 0});
      polled.push_back(&worker);
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR)
      return make_error(ErrorCategory::io, std::string("cannot watch the workers: ") + std::strerror(errno));
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;  // a read would block until that worker writes
      Worker& worker = *polled[i];
      if (!read_progress(worker)) {
        ::close(worker.out);
        worker.out = -1;
        --open;
        continue;
      }
      std::uint64_t done = 0;
      for (const auto& w : workers) done += w.done;
      if (progress) progress(done);
    }
  }
  int failed = 0, last_status = 0;
  for (auto& worker : workers) {
    int status = 0;
    ::waitpid(worker.pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++failed;
      last_status = status;
    }
  }
  if (failed)
    return make_error(ErrorCategory::token, std::to_string(failed) + " worker(s) failed (last status " +
                                                std::to_string(last_status) +
                                                "); nothing is lost: rerun keyward-rotate run to finish");
  return {};
}

Result<std::uint64_t> rewrap_shard_in_module_lifetimes(const OpenWorkerSession& open, const std::string& family,
                                                       std::uint32_t target, const Shard& shard, std::size_t batch,
                                                       const std::function<void(std::string_view)>& report_line,
                                                       std::int64_t run_id) {
  std::uint64_t total = 0;
  for (;;) {
    // One module lifetime: open, rewrap up to the limit, close (finalising the module frees SoftHSM's memory).
    KW_ASSIGN_OR_RETURN(auto session, open());
    const ProgressCallback report = [&](const RotationProgress& p) { report_line(worker_progress_line(total + p.done)); };
    auto& catalog = session->catalog();
    KW_ASSIGN_OR_RETURN(std::uint64_t rewrapped,
                        catalog.claims_rewrap_batches()
                            ? rewrap_claimed_batches(session->hierarchy(), catalog, family, target, batch, run_id, report,
                                                     kRewrapsPerModuleLifetime)
                            : rewrap_catalog(session->hierarchy(), catalog, family, target, shard, batch, report,
                                             kRewrapsPerModuleLifetime));
    total += rewrapped;
    if (rewrapped < kRewrapsPerModuleLifetime) return total;
  }
}

}  // namespace keyward::rotation
