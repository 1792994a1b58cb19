#include "envelope/internal/segment_pipeline.h"

#include <openssl/crypto.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>

#include "envelope/format.h"

namespace keyward::envelope {
namespace {

Error io_error(const char* what) { return Error{ErrorCategory::io, std::string(what) + ": " + std::strerror(errno), std::nullopt}; }

// Fills `batch` with the next segments, numbered on from `next_index`; returns how many it holds
// and sets `finished` at the last segment.
Result<std::size_t> fill_batch(ChunkReader& reader, std::vector<Slot>& batch, std::uint64_t& next_index, bool& finished,
                               const Error& too_many) {
  std::size_t used = 0;
  while (used < batch.size() && !finished) {
    Slot& slot = batch[used++];
    KW_TRY(reader.next(slot));
    if (next_index > UINT32_MAX) return fail(too_many);
    slot.index = static_cast<std::uint32_t>(next_index++);
    slot.out_size = 0;
    slot.error.reset();
    finished = slot.last;
  }
  return used;
}

struct Batch {
  std::vector<Slot> slots;
  std::size_t used = 0;
};

// Writes the batch's results with as few writev calls as the kernel allows.
Status write_batch(int fd, const Batch& batch) {
  std::array<iovec, 128> vectors{};
  std::size_t from = 0;
  while (from < batch.used) {
    std::size_t count = 0;
    for (; count < vectors.size() && from + count < batch.used; ++count) {
      const Slot& slot = batch.slots[from + count];
      vectors[count] = iovec{const_cast<std::uint8_t*>(slot.data.data()), slot.out_size};
    }
    iovec* next = vectors.data();
    std::size_t left = count;
    while (left > 0) {
      const ssize_t n = ::writev(fd, next, static_cast<int>(std::min<std::size_t>(left, IOV_MAX)));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(io_error("write"));
      auto done = static_cast<std::size_t>(n);
      while (left > 0 && done >= next->iov_len) {  // whole vectors written
        done -= next->iov_len;
        ++next;
        --left;
      }
      if (left > 0) {  // a partial one: go on from where it stopped
        next->iov_base = static_cast<std::uint8_t*>(next->iov_base) + done;
        next->iov_len -= done;
      }
    }
    from += count;
  }
  return {};
}

// Cleanses every buffer of every batch when the pipeline ends, however it ends.
struct WipeOnExit {
  std::array<Batch, 3>& batches;
  ~WipeOnExit() {
    for (auto& batch : batches)
      for (auto& slot : batch.slots) OPENSSL_cleanse(slot.data.data(), slot.data.size());
  }
};

// One persistent thread that runs one job at a time for the pipeline's I/O.
class IoThread {
 public:
  IoThread() : thread_([this] { loop(); }) {}
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;
  ~IoThread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  void start(std::function<Status()> job) {
    std::lock_guard lock(mutex_);
    job_ = std::move(job);
    done_ = false;
    wake_.notify_one();
  }
  Status wait() {
    std::unique_lock lock(mutex_);
    finished_.wait(lock, [&] { return done_; });
    return std::move(result_);
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || job_ != nullptr; });
      if (job_ == nullptr) return;  // stopping, nothing left to run
      auto job = std::move(job_);
      job_ = nullptr;
      lock.unlock();
      Status result = job();
      lock.lock();
      result_ = std::move(result);
      done_ = true;
      finished_.notify_one();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  std::function<Status()> job_;
  Status result_;
  bool done_ = true, stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace

Result<std::size_t> read_full(int fd, std::span<std::uint8_t> buffer) {
  std::size_t done = 0;
  while (done < buffer.size()) {
    ssize_t n = ::read(fd, buffer.data() + done, buffer.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(io_error("read"));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Status write_full(int fd, std::span<const std::uint8_t> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(io_error("write"));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

PageBuffer::PageBuffer(std::size_t size) : size_(size) {
  constexpr std::size_t kPage = 4096;
  void* bytes = std::aligned_alloc(kPage, (size + kPage - 1) / kPage * kPage);
  if (bytes == nullptr) throw std::bad_alloc();
  bytes_.reset(static_cast<std::uint8_t*>(bytes));
}

void PageBuffer::Free::operator()(std::uint8_t* bytes) const { std::free(bytes); }

ChunkReader::ChunkReader(int fd, std::size_t chunk) : fd_(fd), chunk_(chunk), ahead_(chunk + kTagBytes) {}

ChunkReader::~ChunkReader() { OPENSSL_cleanse(ahead_.data(), ahead_.size()); }  // plaintext, when encrypting

Status ChunkReader::prime() {
  KW_ASSIGN_OR_RETURN(ahead_size_, read_full(fd_, std::span(ahead_.data(), chunk_)));
  return {};
}

Status ChunkReader::next(Slot& slot) {
  slot.data.swap(ahead_);
  slot.in_size = ahead_size_;
  if (ahead_.size() == 0) PageBuffer(chunk_ + kTagBytes).swap(ahead_);  // a slot's first use: allocated once
  if (ahead_size_ < chunk_) {
    slot.last = true;
    ahead_size_ = 0;
    return {};
  }
  KW_ASSIGN_OR_RETURN(ahead_size_, read_full(fd_, std::span(ahead_.data(), chunk_)));
  slot.last = ahead_size_ == 0;
  return {};
}

Result<PipelineTotals> run_segment_pipeline(ChunkReader& reader, WorkerPool& pool, int out_fd, const PipelineSteps& steps) {
  std::array<Batch, 3> batches;
  for (auto& batch : batches) batch.slots.resize(pool.size() * kSegmentsPerWorker);
  WipeOnExit wipe{batches};
  PipelineTotals totals;
  std::uint64_t next_index = 0;
  bool finished = false;
  auto emit = [&](const Batch& batch) -> Status {
    KW_TRY(write_batch(out_fd, batch));
    for (std::size_t i = 0; i < batch.used; ++i) totals.written += batch.slots[i].out_size;
    return {};
  };

  KW_ASSIGN_OR_RETURN(batches[0].used, fill_batch(reader, batches[0].slots, next_index, finished, steps.too_many_segments));
  IoThread io;
  Batch* previous = nullptr;  // transformed, not yet written
  for (std::size_t k = 0; batches[k % 3].used > 0; ++k) {
    Batch& current = batches[k % 3];
    Batch& following = batches[(k + 1) % 3];
    following.used = 0;
    // The I/O thread only touches `previous`, `following`, the reader and the output; the pool only `current`.
    io.start([&, previous]() -> Status {
      if (previous) KW_TRY(emit(*previous));
      if (!finished) {
        KW_ASSIGN_OR_RETURN(following.used, fill_batch(reader, following.slots, next_index, finished, steps.too_many_segments));
      }
      return {};
    });
    pool.run(current.used, [&](std::size_t i, unsigned worker) { steps.transform(current.slots[i], worker); });
    for (std::size_t i = 0; i < current.used; ++i) totals.read += current.slots[i].in_size;
    Status io_done = io.wait();
    for (std::size_t i = 0; i < current.used; ++i)
      if (current.slots[i].error) return fail(*current.slots[i].error);
    KW_TRY(io_done);
    previous = &current;
  }
  if (previous) KW_TRY(emit(*previous));
  return totals;
}

}  // namespace keyward::envelope
