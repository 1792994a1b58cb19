// CallRunner: runs one token's calls on threads of its own, so that a caller waits at most a deadline.
//
// A PKCS#11 call cannot be cancelled: a token that stops answering (a hung HSM, a network module whose
// peer vanished) keeps the calling thread inside the module forever. A TokenSet must not hang with it
// when another token could answer. So each token's calls run on this runner's workers and the caller
// waits for the result only until the deadline; then it gives up on that token (a call under way goes
// on, on its worker, and its result is dropped) and fails over.
//
// What a job touches must outlive it even when its caller has given up: jobs capture their inputs by
// value and write their result into state they share with the caller (a std::shared_ptr), never into
// the caller's stack. The token objects a job uses (the TokenSet's members) are kept alive by their
// owner for as long as any job might still run (see idle()).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace keyward::hierarchy {

class CallRunner {
 public:
  // At most `max_workers` threads. More calls than that at once wait in line for a worker (within
  // their deadline): busy is not stuck.
  explicit CallRunner(std::size_t max_workers = 64);
  // Stops idle workers. Workers still inside a job are left to finish it on their own (they hold the
  // runner's shared state, not the runner).
  ~CallRunner();
  CallRunner(const CallRunner&) = delete;
  CallRunner& operator=(const CallRunner&) = delete;

  enum class Outcome {
    done,         // the job ran and returned
    timed_out,    // the job started and has not returned: it goes on, its result will be dropped
    not_started,  // no worker was free before the deadline: the job was taken out of line, never ran
  };
  // Runs `job` on a worker and waits until it has finished or `deadline` has passed.
  Outcome run(std::function<void()> job, std::chrono::milliseconds deadline);

  // Waits up to `grace` until no job is running; false if some still are (a call stuck in the module).
  bool idle(std::chrono::milliseconds grace) const;

 private:
  struct State;
  // A worker thread's loop. It holds its own share of the state, so a worker that comes back from a
  // long-stuck call after the runner is gone finds the state still there.
  static void work(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace keyward::hierarchy
