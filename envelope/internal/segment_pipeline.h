// Internal to envelope/: moves a stream through per-segment work in order, with the I/O of one batch
// overlapping the cryptography of the next. stream.cc builds encryption and decryption on it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "envelope/internal/worker_pool.h"
#include "base/error.h"

namespace keyward::envelope {

// Reads until `buffer` is full or end of file; returns the bytes read. Retries EINTR.
Result<std::size_t> read_full(int fd, std::span<std::uint8_t> buffer);
// Writes all of `data`. Retries EINTR.
Status write_full(int fd, std::span<const std::uint8_t> data);

// One segment: its input and output bytes, its position and its outcome.
struct Slot {
  std::vector<std::uint8_t> in, out;
  std::size_t in_size = 0;
  std::uint32_t index = 0;
  bool last = false;
  std::optional<Error> error;
};

// Cuts a file descriptor into chunks of a fixed size, reading one ahead so that the last chunk is
// known to be last when it is handed out (the format marks the final segment).
class ChunkReader {
 public:
  ChunkReader(int fd, std::size_t chunk) : fd_(fd), chunk_(chunk), ahead_(chunk) {}
  Status prime();          // reads the first chunk
  Status next(Slot& slot); // hands the look-ahead chunk to `slot` and reads the following one

 private:
  int fd_;
  std::size_t chunk_;
  std::vector<std::uint8_t> ahead_;
  std::size_t ahead_size_ = 0;
};

struct PipelineSteps {
  // Runs on a pool thread for each segment; sets slot.out or slot.error. `worker` is stable per thread.
  std::function<void(Slot& slot, unsigned worker)> transform;
  // Runs on the I/O thread for each transformed segment, in order; never for a failed one or any after it.
  std::function<Status(const Slot& slot)> emit;
  Error too_many_segments;  // the error for a 2^32nd segment
};

// Reads every chunk of `reader`, transforms batches of pool.size() × 4 segments on `pool`, and
// emits them in order. While batch k is transformed, batch k−1 is emitted and batch k+1 read on a
// separate I/O thread. Stops at the first transform error (returned; nothing from that batch on is
// emitted) or I/O error. Every buffer is cleansed before returning: plaintext is on one side or the
// other. Memory: three batches, whatever the stream's length.
Status run_segment_pipeline(ChunkReader& reader, WorkerPool& pool, const PipelineSteps& steps);

}  // namespace keyward::envelope
