// WorkerPool: N threads that run one batch of indexed jobs at a time (run() returns when all are
// done). With one thread the jobs run inline on the caller's thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace keyward::envelope {

class WorkerPool {
 public:
  explicit WorkerPool(unsigned threads);
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  ~WorkerPool();

  unsigned size() const { return threads_; }
  // Calls job(index, worker) for index in [0, count); worker in [0, size()) is stable per thread,
  // so jobs can use per-worker state (cipher contexts). Blocks until every job has run.
  void run(std::size_t count, const std::function<void(std::size_t index, unsigned worker)>& job);

 private:
  void loop(unsigned worker);

  unsigned threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  const std::function<void(std::size_t, unsigned)>* job_ = nullptr;
  std::size_t count_ = 0, next_ = 0, finished_ = 0;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
};

}  // namespace keyward::envelope
