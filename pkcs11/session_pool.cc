#include "pkcs11/session_pool.h"

namespace keyward::p11 {

SessionPool::SessionPool(std::shared_ptr<Connection> connection, SessionPoolOptions options)
    : connection_(std::move(connection)), options_(options), idle_generation_(connection_->generation()) {
  if (options_.max_sessions == 0) options_.max_sessions = 1;
}

SessionPool::~SessionPool() {
  std::unique_lock lock(mutex_);
  // Leases must not outlive the pool; wait for stragglers rather than leave them dangling.
  available_.wait(lock, [&] { return lent_ == 0; });
  idle_.clear();
}

Result<SessionPool::Lease> SessionPool::acquire() {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  for (;;) {
    const std::uint64_t generation = connection_->generation();
    if (idle_generation_ != generation) {
      idle_.clear();  // sessions from before a reconnect are dead
      idle_generation_ = generation;
    }
    if (!idle_.empty()) {
      Session session = std::move(idle_.back());
      idle_.pop_back();
      ++lent_;
      return Lease(this, std::move(session), generation);
    }
    if (lent_ < options_.max_sessions) {
      ++lent_;
      lock.unlock();
      auto session = connection_->open_session();
      if (!session) {
        lock.lock();
        --lent_;
        available_.notify_one();
        return std::unexpected(std::move(session).error());
      }
      return Lease(this, std::move(*session), generation);
    }
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        lent_ >= options_.max_sessions) {
      return make_error(ErrorCategory::token,
                        "session pool exhausted: all " + std::to_string(options_.max_sessions) +
                            " sessions stayed in use for " + std::to_string(options_.acquire_timeout.count()) +
                            " ms — use fewer threads or a larger pool");
    }
  }
}

void SessionPool::give_back(Session session, std::uint64_t generation, bool reusable) {
  std::lock_guard lock(mutex_);
  --lent_;
  if (reusable && generation == connection_->generation() && generation == idle_generation_) {
    idle_.push_back(std::move(session));
  }
  // Otherwise `session` closes here: broken, or opened before a reconnect.
  available_.notify_all();
}

Status SessionPool::recover(std::uint64_t seen_generation) {
  KW_TRY(connection_->reconnect(seen_generation));
  key_handles_.clear();
  std::lock_guard lock(mutex_);
  ++recoveries_;
  return {};
}

std::uint64_t SessionPool::recoveries() const {
  std::lock_guard lock(mutex_);
  return recoveries_;
}

std::size_t SessionPool::open_sessions() const {
  std::lock_guard lock(mutex_);
  return idle_.size() + lent_;
}

SessionPool::Lease::Lease(SessionPool* pool, Session session, std::uint64_t generation)
    : pool_(pool), session_(std::move(session)), generation_(generation) {}

SessionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      session_(std::move(other.session_)),
      generation_(other.generation_),
      reusable_(other.reusable_) {
  other.session_.reset();
}

SessionPool::Lease::~Lease() {
  if (pool_ != nullptr && session_) pool_->give_back(std::move(*session_), generation_, reusable_);
}

}  // namespace keyward::p11
