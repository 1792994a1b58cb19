// One libpq connection for PostgresCatalog (internal: only postgres_catalog*.cc use it): statements
// prepared once per connection and run with binary results, parameters bound without quoting, and
// errors that name the database (never a password: the location is printable_catalog_location).
//
// Error categories: the server unreachable, the connection lost, the server shutting down or out of
// resources (SQLSTATE classes 08, 53, 57) are ErrorCategory::database (exit 3, infrastructure: rerun);
// anything the statement itself caused (a constraint, a bad value) is io, as SQLite's are.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error.h"

namespace keyward::hierarchy::pg {

// Statement parameters: text (integers are sent as decimal text) or binary (bytea).
class Params {
 public:
  Params& text(std::string_view value);
  Params& integer(std::int64_t value);
  Params& bytes(std::span<const std::uint8_t> value);
  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> pointers() const;
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  std::vector<std::string> values_;
  std::vector<int> lengths_, formats_;
};

// A PostgreSQL array literal of bytea values ({"\\x00ff",…}) or of integers ({1,2}), for unnest().
std::string bytea_array(const std::vector<std::span<const std::uint8_t>>& values);
std::string integer_array(const std::vector<std::int64_t>& values);

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};

// The rows of a statement run with binary results. Accessors decode by the column's type
// (int2/int4/int8/bool as integers; text and bytea as bytes).
class Rows {
 public:
  explicit Rows(PGresult* result) : result_(result) {}
  int size() const { return PQntuples(result_.get()); }
  bool empty() const { return size() == 0; }
  std::int64_t integer(int row, int column) const;
  std::string text(int row, int column) const;
  std::vector<std::uint8_t> bytes(int row, int column) const;
  // Rows an INSERT/UPDATE/DELETE changed.
  std::uint64_t affected() const;

 private:
  std::unique_ptr<PGresult, ResultDeleter> result_;
};

class Connection {
 public:
  // Connects to `uri` (a libpq connection URI). `printable` names it in every message.
  static Result<std::unique_ptr<Connection>> open(const std::string& uri, const std::string& printable);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs `sql` (prepared on first use on this connection; keyed by the literal's address, so string
  // literals only) with `params`. `what` says what the statement does, for the message.
  Result<Rows> run(const char* sql, const Params& params, std::string_view what);
  // A statement without parameters or rows (BEGIN, COMMIT, DDL), with the simple query protocol.
  Status exec(const char* sql, std::string_view what);
  const std::string& printable() const { return printable_; }
  Error error(std::string_view what, const PGresult* result) const;

 private:
  Connection(PGconn* conn, std::string uri, std::string printable)
      : conn_(conn), uri_(std::move(uri)), printable_(std::move(printable)) {}
  // A connection lost outside a transaction is re-established once (a restarted server); inside a
  // transaction the loss is the caller's error (its work was rolled back).
  Status ensure_connected();

  PGconn* conn_;
  std::string uri_, printable_;
  std::unordered_map<const char*, std::string> prepared_;  // SQL literal → statement name
};

}  // namespace keyward::hierarchy::pg
