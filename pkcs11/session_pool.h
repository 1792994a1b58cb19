// SessionPool: a bounded set of sessions shared by threads, recovering from lost sessions.
//
// acquire() lends a session to one thread at a time (blocking up to a timeout when all are lent,
// then failing with a clear error). run() wraps a unit of work: if it fails because the session or
// login is gone (CKR_SESSION_HANDLE_INVALID, CKR_USER_NOT_LOGGED_IN, a stale handle…), the pool
// re-establishes the login through the Connection, drops cached key handles and retries once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "pkcs11/connection.h"
#include "base/error.h"
#include "pkcs11/key_handle_cache.h"
#include "pkcs11/rv.h"
#include "pkcs11/session.h"

namespace keyward::p11 {

struct SessionPoolOptions {
  std::size_t max_sessions = 8;
  std::chrono::milliseconds acquire_timeout{30'000};
};

class SessionPool {
 public:
  class Lease;

  SessionPool(std::shared_ptr<Connection> connection, SessionPoolOptions options = {});
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;
  ~SessionPool();

  // A session for the calling thread until the Lease is destroyed. Errors: token (C_OpenSession),
  // or a timeout naming the pool size. Thread-safe.
  Result<Lease> acquire();

  // Runs `work(Session&)` (returning Result<T> or Status) on a pooled session, recovering once from
  // a lost session or login. Thread-safe.
  template <class Work>
  auto run(Work&& work) -> std::invoke_result_t<Work&, Session&>;

  KeyHandleCache& key_handles() { return key_handles_; }
  const std::shared_ptr<Connection>& connection() const { return connection_; }

  // Counters for tests and progress reports.
  std::uint64_t recoveries() const;
  std::size_t open_sessions() const;

 private:
  friend class Lease;
  void give_back(Session session, std::uint64_t generation, bool reusable);
  Status recover(std::uint64_t seen_generation);

  std::shared_ptr<Connection> connection_;
  SessionPoolOptions options_;
  KeyHandleCache key_handles_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<Session> idle_;
  std::size_t lent_ = 0;
  std::uint64_t idle_generation_ = 0;
  std::uint64_t recoveries_ = 0;
};

class SessionPool::Lease {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  ~Lease();

  Session& session() { return *session_; }
  std::uint64_t generation() const { return generation_; }
  // The session is broken: close it instead of returning it to the pool.
  void discard() { reusable_ = false; }

 private:
  friend class SessionPool;
  Lease(SessionPool* pool, Session session, std::uint64_t generation);
  SessionPool* pool_;
  std::optional<Session> session_;
  std::uint64_t generation_;
  bool reusable_ = true;
};

template <class Work>
auto SessionPool::run(Work&& work) -> std::invoke_result_t<Work&, Session&> {
  for (int attempt = 0;; ++attempt) {
    auto lease = acquire();
    if (!lease) return std::unexpected(std::move(lease).error());
    auto result = work(lease->session());
    if (result || attempt > 0) return result;
    const auto& error = result.error();
    if (!error.ck_rv || !is_lost_session(*error.ck_rv)) return result;
    lease->discard();
    const std::uint64_t generation = lease->generation();
    { auto released = std::move(*lease); }
    if (auto recovered = recover(generation); !recovered) return std::unexpected(std::move(recovered).error());
  }
}

}  // namespace keyward::p11
