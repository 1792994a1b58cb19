#include "audit/log_writer.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/usage.h"

namespace keyward::audit {
namespace {

Error io_error(const std::string& what, const std::string& path) {
  return Error{ErrorCategory::io, what + " audit log '" + path + "': " + std::strerror(errno), std::nullopt};
}

std::string utc_now_micros() {
  const auto now = std::chrono::system_clock::now();
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[40];
  const std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buffer + n, sizeof buffer - n, ".%06lldZ", static_cast<long long>(micros % 1'000'000));
  return buffer;
}

nlohmann::json who_am_i(const std::shared_ptr<Anchor>& anchor) {
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return {{"uid", static_cast<std::uint64_t>(::getuid())},
          {"pid", static_cast<std::uint64_t>(::getpid())},
          {"exe", n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : std::string()},
          {"host", std::string(host)},
          {"token", anchor ? anchor->token_serial() : std::string()}};
}

std::string random_log_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 0xf]);
  }
  return id;
}

Status read_at(int fd, std::uint64_t offset, std::size_t length, std::string& out, const std::string& path) {
  out.resize(length);
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(io_error("cannot read", path));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

// The file's tail: its last complete line and, if the file does not end in a newline, the partial
// line after it (offset and bytes).
struct Tail {
  std::string last_line;  // empty: no complete line
  std::uint64_t partial_offset = 0;
  std::string partial;
};

Result<Tail> read_tail(int fd, std::uint64_t size, const std::string& path) {
  Tail tail;
  std::size_t window = 4096;
  for (;;) {
    const std::uint64_t start = size > window ? size - window : 0;
    std::string chunk;
    KW_TRY(read_at(fd, start, static_cast<std::size_t>(size - start), chunk, path));
    const std::size_t last_newline = chunk.rfind('\n');
    if (last_newline == std::string::npos && start > 0) {
      window *= 4;
      continue;
    }
    const std::size_t line_end = last_newline == std::string::npos ? 0 : last_newline;
    tail.partial_offset = last_newline == std::string::npos ? start : start + last_newline + 1;
    tail.partial = last_newline == std::string::npos ? chunk : chunk.substr(last_newline + 1);
    if (last_newline == std::string::npos) return tail;
    const std::size_t line_begin = line_end == 0 ? std::string::npos : chunk.rfind('\n', line_end - 1);
    if (line_begin == std::string::npos && start > 0) {
      window *= 4;
      continue;
    }
    const std::size_t begin = line_begin == std::string::npos ? 0 : line_begin + 1;
    tail.last_line = chunk.substr(begin, line_end - begin);
    return tail;
  }
}

}  // namespace

AuditLog::AuditLog(std::string path, int fd, std::shared_ptr<Anchor> anchor, WriterOptions options)
    : path_(std::move(path)), fd_(fd), anchor_(std::move(anchor)), options_(options), who_(who_am_i(anchor_)),
      last_checkpoint_(std::chrono::steady_clock::now()) {}

Result<std::shared_ptr<AuditLog>> AuditLog::open(const std::string& path, std::shared_ptr<Anchor> anchor, WriterOptions options) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return fail(io_error("cannot open", path));
  std::shared_ptr<AuditLog> log(new AuditLog(path, fd, std::move(anchor), options));
  {
    // Starts the log (or seals a partial line left by a crash) now, so that a log that cannot be
    // written fails here rather than at the first audited operation.
    std::lock_guard lock(log->mutex_);
    while (::flock(fd, LOCK_EX) != 0)
      if (errno != EINTR) return fail(io_error("cannot lock", path));
    Status synced = log->sync_head_locked();
    ::flock(fd, LOCK_UN);
    KW_TRY(synced);
  }
  set_usage_counting(true);
  if (options.background) log->background_ = std::thread([raw = log.get()] { raw->background_loop(); });
  return log;
}

AuditLog::~AuditLog() {
  (void)close();
  ::close(fd_);
}

Status AuditLog::write_line_locked(const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(io_error("cannot append to", path_));
    done += static_cast<std::size_t>(n);
  }
  known_end_ += text.size();
  return {};
}

Status AuditLog::sync_head_locked() {
  struct stat info {};
  if (::fstat(fd_, &info) != 0) return fail(io_error("cannot stat", path_));
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (head_known_ && size == known_end_) return {};
  if (head_known_ && size < known_end_)
    return make_error(ErrorCategory::corrupt_input,
                      "audit log '" + path_ + "' shrank while in use (cut or replaced): run keyward audit verify");
  KW_ASSIGN_OR_RETURN(Tail tail, read_tail(fd_, size, path_));
  known_end_ = size;
  if (tail.last_line.empty()) {
    if (!tail.partial.empty())
      return make_error(ErrorCategory::corrupt_input,
                        "audit log '" + path_ + "' holds no complete record: run keyward audit verify");
    // An empty file: this process starts the log.
    log_id_ = random_log_id();
    if (log_id_.empty()) return make_error(ErrorCategory::internal, "no random bytes for the audit log's ID");
    head_seq_ = 0;
    head_hash_ = std::string(kGenesisHash);
    nlohmann::json start{{"type", "start"}, {"public_key", anchor_ ? anchor_->public_key_pem() : std::string()}};
    head_known_ = true;
    const std::uint64_t first = 0;
    nlohmann::json line = std::move(start);
    line["v"] = kSchemaVersion;
    line["log"] = log_id_;
    line["seq"] = first;
    line["prev"] = head_hash_;
    line["time"] = utc_now_micros();
    line["who"] = who_;
    const std::string text = canonical(line);
    KW_TRY(write_line_locked(text + "\n"));
    head_hash_ = record_hash(text);
    return {};
  }
  auto last = parse_record_line(tail.last_line);
  if (!last)
    return make_error(ErrorCategory::corrupt_input, "the last record of audit log '" + path_ + "' does not parse (" +
                                                        last.error().message + "): run keyward audit verify");
  log_id_ = last->log_id;
  head_seq_ = last->seq;
  head_hash_ = record_hash(tail.last_line);
  head_known_ = true;
  if (!tail.partial.empty()) {
    // A torn write: end the partial line and say so in the chain (see the header).
    nlohmann::json seal{{"type", "seal"},
                        {"partial", {{"offset", tail.partial_offset},
                                     {"bytes", static_cast<std::uint64_t>(tail.partial.size())},
                                     {"sha256", record_hash(tail.partial)}}}};
    KW_TRY(write_line_locked("\n"));
    KW_TRY(append_locked(std::move(seal)));
  }
  return {};
}

Status AuditLog::append_locked(nlohmann::json body, std::string* out_line) {
  body["v"] = kSchemaVersion;
  body["log"] = log_id_;
  body["seq"] = head_seq_ + 1;
  body["prev"] = head_hash_;
  body["time"] = utc_now_micros();
  body["who"] = who_;
  if (body.value("type", "") == "checkpoint") KW_TRY(sign_checkpoint(*anchor_, body));
  const std::string text = canonical(body);
  KW_TRY(write_line_locked(text + "\n"));
  ++head_seq_;
  head_hash_ = record_hash(text);
  ++since_checkpoint_;
  if (out_line) *out_line = text;
  return {};
}

namespace {

// Holds the file's flock for one append; released (also) when the descriptor's process dies.
class FileLock {
 public:
  static Result<FileLock> acquire(int fd, const std::string& path) {
    while (::flock(fd, LOCK_EX) != 0)
      if (errno != EINTR) return fail(io_error("cannot lock", path));
    return FileLock(fd);
  }
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~FileLock() {
    if (fd_ >= 0) ::flock(fd_, LOCK_UN);
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace

Status AuditLog::record(const Event& event) {
  Status written = [&]() -> Status {
    std::lock_guard lock(mutex_);
    if (closed_) return make_error(ErrorCategory::internal, "audit log '" + path_ + "' is closed");
    KW_ASSIGN_OR_RETURN(auto file_lock, FileLock::acquire(fd_, path_));
    KW_TRY(sync_head_locked());
    if (const std::uint64_t dropped = dropped_reads_.exchange(0); dropped > 0) {
      nlohmann::json note = event_fields(Event{"audit.dropped-reads", "failed", "", "", {{"records", dropped}}});
      note["type"] = "event";
      if (auto s = append_locked(std::move(note)); !s) {
        dropped_reads_.fetch_add(dropped);
        return s;
      }
    }
    nlohmann::json body = event_fields(event);
    body["type"] = "event";
    KW_TRY(append_locked(std::move(body)));
    if (anchor_ && since_checkpoint_ >= options_.checkpoint_every_records) KW_TRY(checkpoint_locked());
    return {};
  }();
  if (!written && event.read && options_.reads_warn_only) {
    dropped_reads_.fetch_add(1);
    return {};
  }
  return written;
}

Status AuditLog::checkpoint_locked() {
  if (!anchor_ || since_checkpoint_ == 0) return {};
  std::string line;
  KW_TRY(append_locked(nlohmann::json{{"type", "checkpoint"}}, &line));
  if (::fsync(fd_) != 0) return fail(io_error("cannot sync", path_));
  const Head head{head_seq_, record_hash(line)};
  KW_TRY(anchor_->store_head(log_id_, head));
  last_head_ = head;
  since_checkpoint_ = 0;
  last_checkpoint_ = std::chrono::steady_clock::now();
  return {};
}

Status AuditLog::checkpoint() {
  std::lock_guard lock(mutex_);
  if (closed_) return {};
  KW_ASSIGN_OR_RETURN(auto file_lock, FileLock::acquire(fd_, path_));
  KW_TRY(sync_head_locked());
  return checkpoint_locked();
}

Status AuditLog::flush_usage() {
  struct Taken {
    UsageCounter* counter;
    std::uint64_t encryptions, decryptions, bytes;
  };
  std::vector<Taken> taken;
  drain_usage([&](const UsageCounter& counter, std::uint64_t e, std::uint64_t d, std::uint64_t b) {
    taken.push_back({const_cast<UsageCounter*>(&counter), e, d, b});
  });
  if (taken.empty()) return {};
  std::lock_guard lock(mutex_);
  Status status = [&]() -> Status {
    if (closed_) return make_error(ErrorCategory::internal, "audit log '" + path_ + "' is closed");
    KW_ASSIGN_OR_RETURN(auto file_lock, FileLock::acquire(fd_, path_));
    KW_TRY(sync_head_locked());
    while (!taken.empty()) {
      const Taken& t = taken.back();
      nlohmann::json body = event_fields(Event{"dek.use", "ok", t.counter->dek_id, t.counter->scope,
                                               {{"encryptions", t.encryptions}, {"decryptions", t.decryptions}, {"bytes", t.bytes}}});
      body["type"] = "usage";
      KW_TRY(append_locked(std::move(body)));
      taken.pop_back();
    }
    return {};
  }();
  for (const Taken& t : taken) {  // not written: counted again in the next flush
    t.counter->encryptions.fetch_add(t.encryptions, std::memory_order_relaxed);
    t.counter->decryptions.fetch_add(t.decryptions, std::memory_order_relaxed);
    t.counter->bytes.fetch_add(t.bytes, std::memory_order_relaxed);
  }
  return status;
}

Status AuditLog::close() {
  {
    std::lock_guard wake_lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (background_.joinable()) background_.join();
  {
    std::lock_guard lock(mutex_);
    if (closed_) return {};
  }
  Status usage = flush_usage();
  Status last = checkpoint();
  std::lock_guard lock(mutex_);
  closed_ = true;
  KW_TRY(usage);
  return last;
}

void AuditLog::background_loop() {
  std::unique_lock wake_lock(wake_mutex_);
  while (!stopping_) {
    wake_.wait_for(wake_lock, options_.usage_flush_interval, [&] { return stopping_; });
    if (stopping_) break;
    wake_lock.unlock();
    // Failures here surface at the next record() or close(), which write the same things.
    (void)flush_usage();
    bool due = false;
    {
      std::lock_guard lock(mutex_);
      due = std::chrono::steady_clock::now() - last_checkpoint_ >= options_.checkpoint_interval;
    }
    if (due) (void)checkpoint();
    wake_lock.lock();
  }
}

}  // namespace keyward::audit
