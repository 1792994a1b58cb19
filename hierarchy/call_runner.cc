#include "hierarchy/call_runner.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace keyward::hierarchy {

struct CallRunner::State {
  std::mutex mutex;
  std::condition_variable work_ready;   // a job was queued, or stopping
  std::condition_variable job_finished;
  std::deque<std::function<void()>> queue;
  std::size_t max_workers = 0;
  std::size_t workers = 0;  // threads alive
  std::size_t idle = 0;     // of them, waiting for a job
  std::size_t running = 0;  // jobs started and not finished
  bool stopping = false;
};

void CallRunner::work(std::shared_ptr<State> state) {
  std::unique_lock lock(state->mutex);
  for (;;) {
    ++state->idle;
    state->work_ready.wait(lock, [&] { return state->stopping || !state->queue.empty(); });
    --state->idle;
    if (state->queue.empty()) break;  // stopping
    std::function<void()> job = std::move(state->queue.front());
    state->queue.pop_front();
    ++state->running;
    lock.unlock();
    job();
    job = nullptr;  // its captures go before the caller is told (nothing of the job outlives "finished")
    lock.lock();
    --state->running;
    state->job_finished.notify_all();
  }
  --state->workers;
}

CallRunner::CallRunner(std::size_t max_workers) : state_(std::make_shared<State>()) {
  state_->max_workers = max_workers == 0 ? 1 : max_workers;
}

CallRunner::~CallRunner() {
  std::lock_guard lock(state_->mutex);
  state_->stopping = true;
  state_->work_ready.notify_all();
}

CallRunner::Outcome CallRunner::run(std::function<void()> job, std::chrono::milliseconds deadline) {
  // The caller's view of this one job: set by the job itself when it has finished.
  struct Done {
    std::mutex mutex;
    std::condition_variable cv;
    bool finished = false;
  };
  auto done = std::make_shared<Done>();
  std::function<void()> wrapped = [job = std::move(job), done]() mutable {
    job();
    job = nullptr;
    std::lock_guard lock(done->mutex);
    done->finished = true;
    done->cv.notify_all();
  };
  {
    std::lock_guard lock(state_->mutex);
    if (state_->idle <= state_->queue.size()) {  // every idle worker already has a job waiting for it
      if (state_->workers >= state_->max_workers) return Outcome::saturated;
      ++state_->workers;
      std::thread(work, state_).detach();
    }
    state_->queue.push_back(std::move(wrapped));
    state_->work_ready.notify_one();
  }
  std::unique_lock lock(done->mutex);
  return done->cv.wait_for(lock, deadline, [&] { return done->finished; }) ? Outcome::done : Outcome::timed_out;
}

bool CallRunner::idle(std::chrono::milliseconds grace) const {
  std::unique_lock lock(state_->mutex);
  return state_->job_finished.wait_for(lock, grace, [&] { return state_->running == 0 && state_->queue.empty(); });
}

}  // namespace keyward::hierarchy
