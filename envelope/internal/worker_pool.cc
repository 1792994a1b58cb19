#include "envelope/internal/worker_pool.h"

namespace keyward::envelope {

WorkerPool::WorkerPool(unsigned threads) : threads_(threads == 0 ? 1 : threads) {
  // Worker 0 is the calling thread; the others wait for batches.
  for (unsigned worker = 1; worker < threads_; ++worker) workers_.emplace_back([this, worker] { loop(worker); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  start_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void WorkerPool::run(std::size_t count, const std::function<void(std::size_t, unsigned)>& job) {
  if (threads_ == 1 || count <= 1) {
    for (std::size_t i = 0; i < count; ++i) job(i, 0);
    return;
  }
  std::unique_lock lock(mutex_);
  job_ = &job;
  count_ = count;
  next_ = 0;
  finished_ = 0;
  ++generation_;
  start_.notify_all();
  // The caller works too, as worker 0.
  while (next_ < count_) {
    const std::size_t index = next_++;
    lock.unlock();
    job(index, 0);
    lock.lock();
    ++finished_;
  }
  done_.wait(lock, [&] { return finished_ == count_; });
  job_ = nullptr;
}

void WorkerPool::loop(unsigned worker) {
  std::uint64_t seen = 0;
  std::unique_lock lock(mutex_);
  for (;;) {
    start_.wait(lock, [&] { return stopping_ || (generation_ != seen && job_ != nullptr && next_ < count_); });
    if (stopping_) return;
    seen = generation_;
    while (job_ != nullptr && next_ < count_) {
      const std::size_t index = next_++;
      const auto* job = job_;
      lock.unlock();
      (*job)(index, worker);
      lock.lock();
      if (++finished_ == count_) done_.notify_all();
    }
  }
}

}  // namespace keyward::envelope
