#include "envelope/internal/segment_pipeline.h"

#include <openssl/crypto.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <future>

namespace keyward::envelope {
namespace {

constexpr std::size_t kSegmentsPerWorker = 4;  // batch = threads × this

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
    slot.error.reset();
    finished = slot.last;
  }
  return used;
}

struct Batch {
  std::vector<Slot> slots;
  std::size_t used = 0;
};

// Cleanses every buffer of every batch when the pipeline ends, however it ends.
struct WipeOnExit {
  std::array<Batch, 3>& batches;
  ~WipeOnExit() {
    for (auto& batch : batches)
      for (auto& slot : batch.slots) {
        OPENSSL_cleanse(slot.in.data(), slot.in.size());
        OPENSSL_cleanse(slot.out.data(), slot.out.size());
      }
  }
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

Status ChunkReader::prime() {
  KW_ASSIGN_OR_RETURN(ahead_size_, read_full(fd_, ahead_));
  return {};
}

Status ChunkReader::next(Slot& slot) {
  slot.in.swap(ahead_);
  slot.in.resize(chunk_);
  slot.in_size = ahead_size_;
  ahead_.resize(chunk_);
  if (ahead_size_ < chunk_) {
    slot.last = true;
    ahead_size_ = 0;
    return {};
  }
  KW_ASSIGN_OR_RETURN(ahead_size_, read_full(fd_, ahead_));
  slot.last = ahead_size_ == 0;
  return {};
}

Status run_segment_pipeline(ChunkReader& reader, WorkerPool& pool, const PipelineSteps& steps) {
  std::array<Batch, 3> batches;
  for (auto& batch : batches) batch.slots.resize(pool.size() * kSegmentsPerWorker);
  WipeOnExit wipe{batches};
  std::uint64_t next_index = 0;
  bool finished = false;
  auto emit_all = [&](const Batch& batch) -> Status {
    for (std::size_t i = 0; i < batch.used; ++i) KW_TRY(steps.emit(batch.slots[i]));
    return {};
  };

  KW_ASSIGN_OR_RETURN(batches[0].used, fill_batch(reader, batches[0].slots, next_index, finished, steps.too_many_segments));
  Batch* previous = nullptr;  // transformed, not yet emitted
  for (std::size_t k = 0; batches[k % 3].used > 0; ++k) {
    Batch& current = batches[k % 3];
    Batch& following = batches[(k + 1) % 3];
    following.used = 0;
    // The I/O thread only touches `previous`, `following`, the reader and the output; the pool only `current`.
    auto io = std::async(std::launch::async, [&, previous]() -> Status {
      if (previous) KW_TRY(emit_all(*previous));
      if (!finished) {
        KW_ASSIGN_OR_RETURN(following.used, fill_batch(reader, following.slots, next_index, finished, steps.too_many_segments));
      }
      return {};
    });
    pool.run(current.used, [&](std::size_t i, unsigned worker) { steps.transform(current.slots[i], worker); });
    Status io_done = io.get();
    for (std::size_t i = 0; i < current.used; ++i)
      if (current.slots[i].error) return fail(*current.slots[i].error);
    KW_TRY(io_done);
    previous = &current;
  }
  if (previous) KW_TRY(emit_all(*previous));
  return {};
}

}  // namespace keyward::envelope
