#include "hierarchy/call_runner.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace keyward::hierarchy {
namespace {

// One call: its job, and what its caller waits on.
struct Call {
  std::function<void()> job;
  std::mutex mutex;
  std::condition_variable finished_cv;
  bool started = false;   // guarded by the runner's state mutex
  bool finished = false;  // guarded by `mutex`
};

}  // namespace

struct CallRunner::State {
  std::mutex mutex;
  std::condition_variable work_ready;  // a call was queued, or stopping
  std::condition_variable job_finished;
  std::deque<std::shared_ptr<Call>> queue;
  std::size_t max_workers = 0;
  std::size_t workers = 0;  // threads alive
  std::size_t idle = 0;     // of them, waiting for a call
  std::size_t running = 0;  // calls started and not finished
  bool stopping = false;
};

void CallRunner::work(std::shared_ptr<State> state) {
  std::unique_lock lock(state->mutex);
  for (;;) {
    ++state->idle;
    state->work_ready.wait(lock, [&] { return state->stopping || !state->queue.empty(); });
    --state->idle;
    if (state->queue.empty()) break;  // stopping
    std::shared_ptr<Call> call = std::move(state->queue.front());
    state->queue.pop_front();
    call->started = true;
    ++state->running;
    lock.unlock();
    call->job();
    call->job = nullptr;  // its captures go before the caller is told (nothing of the job outlives "finished")
    {
      std::lock_guard done(call->mutex);
      call->finished = true;
    }
    call->finished_cv.notify_all();
    call.reset();
    lock.lock();
    --state->running;
    state->job_finished.notify_all();
  }
  lock.unlock();
  // The module's calls left per-thread state in libcrypto (its error queue, its random generator):
  // freed now, not by a thread-exit hook that may not have run when the process exits.
  OPENSSL_thread_stop();
  lock.lock();
  --state->workers;
  state->job_finished.notify_all();
}

CallRunner::CallRunner(std::size_t max_workers) : state_(std::make_shared<State>()) {
  state_->max_workers = std::max<std::size_t>(max_workers, 1);
}

CallRunner::~CallRunner() {
  std::unique_lock lock(state_->mutex);
  state_->stopping = true;
  state_->work_ready.notify_all();
  // The idle workers leave at once; wait (briefly) until they have, so that a process that ends
  // right after leaves no worker behind. Workers stuck in a call are not waited for.
  state_->job_finished.wait_for(lock, std::chrono::seconds(2), [&] { return state_->workers == state_->running; });
}

CallRunner::Outcome CallRunner::run(std::function<void()> job, std::chrono::milliseconds deadline) {
  auto call = std::make_shared<Call>();
  call->job = std::move(job);
  {
    std::lock_guard lock(state_->mutex);
    // A new worker when every idle one already has a call waiting for it, up to the limit; past it,
    // the call waits in line for the first worker that comes free.
    if (state_->idle <= state_->queue.size() && state_->workers < state_->max_workers) {
      ++state_->workers;
      std::thread(work, state_).detach();
    }
    state_->queue.push_back(call);
    state_->work_ready.notify_one();
  }
  {
    std::unique_lock lock(call->mutex);
    if (call->finished_cv.wait_for(lock, deadline, [&] { return call->finished; })) return Outcome::done;
  }
  std::lock_guard lock(state_->mutex);
  if (call->started) return Outcome::timed_out;
  // Still in line: taken out, so it never runs after its caller has given up on it.
  state_->queue.erase(std::find(state_->queue.begin(), state_->queue.end(), call));
  return Outcome::not_started;
}

bool CallRunner::idle(std::chrono::milliseconds grace) const {
  std::unique_lock lock(state_->mutex);
  return state_->job_finished.wait_for(lock, grace, [&] { return state_->running == 0 && state_->queue.empty(); });
}

}  // namespace keyward::hierarchy
