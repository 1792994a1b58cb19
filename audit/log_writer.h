// AuditLog: the writer of one hash-chained, append-only audit log file, shared by processes.
//
// Several processes, one file. Each append takes an exclusive flock on the file, reads the chain's
// head (the last complete line: its seq and hash) if the file changed since this process last
// wrote, and appends one line with one write(2) on an O_APPEND descriptor. So the log is one chain
// in one order, which `verify` checks without merging, and a reader sees the order of events across
// processes. (One file per process, merged by verify, would spare the lock but lose that order and
// multiply the files an auditor must be given; the lock is held for microseconds per record.)
//
// Crashes. A record is one write(2); a process killed by a signal completes it or never started it.
// A torn write (power loss, a full disk) leaves a partial last line: the next writer terminates it
// and appends a `seal` record naming its offset, length and hash, so verify reports it and the chain
// goes on — never a silent gap. Checkpoints are fsynced before the token's head moves.
//
// Checkpoints, with an anchor: every `checkpoint_every_records` records this process wrote, every
// `checkpoint_interval`, and at close(): a record whose signature (in the token) covers the whole
// chain before it, then the token's head object is moved to it.
//
// Thread-safe: one AuditLog per file per process, shared by threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "audit/anchor.h"
#include "audit/record.h"

namespace keyward::audit {

struct WriterOptions {
  std::uint64_t checkpoint_every_records = 1000;
  std::chrono::milliseconds checkpoint_interval{60'000};
  // Per-DEK usage counters (usage.h) are written this often, and at close().
  std::chrono::milliseconds usage_flush_interval{1'000};
  // A record of a read (Event::read) that cannot be written lets the read go on; the count of such
  // records is written with the next record that can be. Writes, and refusals, always fail instead.
  bool reads_warn_only = false;
  // A thread that writes usage and timed checkpoints; off: only records and close() write.
  bool background = true;
};

class AuditLog {
 public:
  // Opens (creating, mode 0600) the log at `path`. `anchor` signs checkpoints and keeps the head;
  // without one the log is chained but has no checkpoints (verify says so). Errors: io.
  static Result<std::shared_ptr<AuditLog>> open(const std::string& path, std::shared_ptr<Anchor> anchor,
                                                WriterOptions options = {});
  ~AuditLog();  // close(), its error dropped: call close() to see it
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one event record (and a checkpoint when one is due). Errors: io, token (a checkpoint).
  Status record(const Event& event);
  // Appends a checkpoint now (a no-op without an anchor or when nothing was written since the last).
  Status checkpoint();
  // Writes one `usage` record per DEK used since the last flush (usage.h).
  Status flush_usage();
  // Flushes usage, writes a final checkpoint, stops the background thread. Later records fail.
  Status close();

  const std::string& path() const { return path_; }
  // The last checkpoint this process wrote and the token acknowledged (seq 0: none yet).
  Head last_checkpoint() const {
    std::lock_guard lock(mutex_);
    return last_head_;
  }
  // Records of reads that could not be written (reads_warn_only), not yet reported in the log.
  std::uint64_t dropped_reads() const { return dropped_reads_.load(); }

 private:
  AuditLog(std::string path, int fd, std::shared_ptr<Anchor> anchor, WriterOptions options);
  // Appends `body` completed with the chain fields; with the lock held. Sets out_line to the bytes.
  Status append_locked(nlohmann::json body, std::string* out_line = nullptr);
  // Brings the cached head up to date with the file (other writers, a partial line to seal).
  Status sync_head_locked();
  Status checkpoint_locked();
  Status write_line_locked(const std::string& text);
  void background_loop();

  const std::string path_;
  const int fd_;
  const std::shared_ptr<Anchor> anchor_;
  const WriterOptions options_;
  const nlohmann::json who_;

  mutable std::mutex mutex_;  // threads of this process; the flock orders processes
  bool closed_ = false;
  // The chain's head as this process last saw it: the file's size then, the last record's seq and hash.
  std::uint64_t known_end_ = 0;
  bool head_known_ = false;
  std::uint64_t head_seq_ = 0;
  std::string head_hash_;
  std::string log_id_;
  Head last_head_;
  std::uint64_t since_checkpoint_ = 0;  // records this process wrote since its last checkpoint
  std::chrono::steady_clock::time_point last_checkpoint_;
  std::atomic<std::uint64_t> dropped_reads_{0};

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread background_;
};

}  // namespace keyward::audit
