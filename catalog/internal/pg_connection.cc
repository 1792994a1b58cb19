#include "catalog/internal/pg_connection.h"

#include <arpa/inet.h>

#include <cstring>

namespace keyward::hierarchy::pg {
namespace {

// Type OIDs (PostgreSQL's src/include/catalog/pg_type.dat), stable across versions.
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23;

bool is_infrastructure(const PGresult* result, PGconn* conn) {
  if (PQstatus(conn) != CONNECTION_OK) return true;
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  if (!state) return true;  // no SQLSTATE: libpq's own failure (connection lost mid-call)
  // Class 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown).
  return std::strncmp(state, "08", 2) == 0 || std::strncmp(state, "53", 2) == 0 || std::strncmp(state, "57", 2) == 0;
}

std::string trimmed(const char* text) {
  std::string out = text ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

Params& Params::text(std::string_view value) {
  values_.emplace_back(value);
  lengths_.push_back(static_cast<int>(value.size()));
  formats_.push_back(0);
  return *this;
}

Params& Params::integer(std::int64_t value) { return text(std::to_string(value)); }

Params& Params::bytes(std::span<const std::uint8_t> value) {
  values_.emplace_back(reinterpret_cast<const char*>(value.data()), value.size());
  lengths_.push_back(static_cast<int>(value.size()));
  formats_.push_back(1);
  return *this;
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& value : values_) out.push_back(value.data());
  return out;
}

std::string bytea_array(const std::vector<std::span<const std::uint8_t>>& values) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "{";
  for (const auto& value : values) {
    if (out.size() > 1) out += ',';
    out += "\"\\\\x";  // in an array literal the element's backslash is escaped: "\\x00ff"
    for (std::uint8_t b : value) {
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
    out += '"';
  }
  return out + "}";
}

std::string integer_array(const std::vector<std::int64_t>& values) {
  std::string out = "{";
  for (const auto value : values) out += (out.size() > 1 ? "," : "") + std::to_string(value);
  return out + "}";
}

std::int64_t Rows::integer(int row, int column) const {
  const char* p = PQgetvalue(result_.get(), row, column);
  if (PQgetisnull(result_.get(), row, column)) return 0;
  switch (PQftype(result_.get(), column)) {
    case kBoolOid: return p[0] != 0;
    case kInt2Oid: {
      std::uint16_t v;
      std::memcpy(&v, p, sizeof v);
      return static_cast<std::int16_t>(ntohs(v));
    }
    case kInt4Oid: {
      std::uint32_t v;
      std::memcpy(&v, p, sizeof v);
      return static_cast<std::int32_t>(ntohl(v));
    }
    case kInt8Oid: {
      std::uint32_t halves[2];
      std::memcpy(halves, p, sizeof halves);
      return static_cast<std::int64_t>((static_cast<std::uint64_t>(ntohl(halves[0])) << 32) | ntohl(halves[1]));
    }
    default: return 0;  // every integer column keyward reads is one of the above (a test checks each query)
  }
}

std::string Rows::text(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column), static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::vector<std::uint8_t> Rows::bytes(int row, int column) const {
  const auto* p = reinterpret_cast<const std::uint8_t*>(PQgetvalue(result_.get(), row, column));
  return std::vector<std::uint8_t>(p, p + PQgetlength(result_.get(), row, column));
}

std::uint64_t Rows::affected() const {
  const char* n = PQcmdTuples(result_.get());
  return n && *n ? std::stoull(n) : 0;
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& uri, const std::string& printable) {
  PGconn* conn = PQconnectdb(uri.c_str());
  if (!conn) return make_error(ErrorCategory::database, "catalog " + printable + ": cannot allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    // libpq's message names the host and socket it tried; it never contains the password.
    std::string message = "catalog " + printable + " (PostgreSQL) is unreachable: " + trimmed(PQerrorMessage(conn)) +
                          " — check that the server runs and the URI names it; nothing was written";
    PQfinish(conn);
    return make_error(ErrorCategory::database, std::move(message));
  }
  std::unique_ptr<Connection> connection(new Connection(conn, uri, printable));
  // Messages in a fixed language and no chatter on stderr from the server's notices.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  KW_TRY(connection->exec("SET client_min_messages = warning", "configuring the session"));
  return connection;
}

Connection::~Connection() { PQfinish(conn_); }

Error Connection::error(std::string_view what, const PGresult* result) const {
  const bool infrastructure = is_infrastructure(result, conn_);
  std::string message = "catalog " + printable_ + ": " + std::string(what) + ": " +
                        trimmed(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
  if (message.back() == ':') message += " " + trimmed(PQerrorMessage(conn_));
  if (infrastructure) message += " — the PostgreSQL server is unreachable or failing; the transaction was rolled back, rerun";
  return Error{infrastructure ? ErrorCategory::database : ErrorCategory::io, std::move(message), std::nullopt};
}

Status Connection::ensure_connected() {
  if (PQstatus(conn_) == CONNECTION_OK) return {};
  if (PQtransactionStatus(conn_) != PQTRANS_UNKNOWN && PQtransactionStatus(conn_) != PQTRANS_IDLE)
    return fail(error("the connection was lost inside a transaction", nullptr));
  PQreset(conn_);
  prepared_.clear();  // prepared statements belong to the old server session
  if (PQstatus(conn_) != CONNECTION_OK) return fail(error("reconnecting", nullptr));
  return {};
}

Status Connection::exec(const char* sql, std::string_view what) {
  KW_TRY(ensure_connected());
  std::unique_ptr<PGresult, ResultDeleter> result(PQexec(conn_, sql));
  const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return fail(error(what, result.get()));
  return {};
}

Result<Rows> Connection::run(const char* sql, const Params& params, std::string_view what) {
  if (PQtransactionStatus(conn_) == PQTRANS_IDLE || PQstatus(conn_) != CONNECTION_OK) KW_TRY(ensure_connected());
  auto& name = prepared_[sql];
  if (name.empty()) {
    const std::string candidate = "kw" + std::to_string(prepared_.size());
    std::unique_ptr<PGresult, ResultDeleter> prepared(PQprepare(conn_, candidate.c_str(), sql, 0, nullptr));
    if (!prepared || PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
      prepared_.erase(sql);
      return fail(error(std::string("preparing a statement for ") + std::string(what), prepared.get()));
    }
    name = candidate;
  }
  const auto values = params.pointers();
  PGresult* result = PQexecPrepared(conn_, name.c_str(), params.size(), values.data(), params.lengths(), params.formats(), 1);
  const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error e = error(what, result);
    PQclear(result);
    return fail(std::move(e));
  }
  return Rows(result);
}

}  // namespace keyward::hierarchy::pg
