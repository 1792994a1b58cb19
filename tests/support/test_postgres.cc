#include "tests/support/test_postgres.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>

#include "tests/support/test_token.h"

namespace keyward::testing {
namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string own_state_file;  // set when this process started the server

void stop_own_server() {
  if (own_state_file.empty()) return;
  const std::string command = "bash " KEYWARD_SOURCE_DIR "/tests/support/pg_server.sh stop '" + own_state_file + "' >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) std::fprintf(stderr, "could not stop the private PostgreSQL server\n");
}

std::string uri_for(const std::string& database) {
  return "postgresql:///" + database + "?host=" + postgres_socket_dir() + "&user=postgres";
}

}  // namespace

const std::string& postgres_socket_dir() {
  static std::once_flag once;
  static std::string dir;
  std::call_once(once, [] {
    if (const char* state = std::getenv("KEYWARD_TEST_PG_STATE"); state && ::access(state, R_OK) == 0) {
      dir = read_first_line(state);
      if (!dir.empty() && ::access((dir + "/data/postmaster.pid").c_str(), F_OK) == 0) return;
    }
    own_state_file = scratch_dir("postgres-" + std::to_string(::getpid())) + "/state";
    const std::string command = "bash " KEYWARD_SOURCE_DIR "/tests/support/pg_server.sh start '" + own_state_file + "'";
    if (std::system(command.c_str()) != 0) {
      std::fprintf(stderr, "cannot start a private PostgreSQL server (%s)\n", command.c_str());
      std::abort();
    }
    std::atexit(stop_own_server);
    dir = read_first_line(own_state_file);
  });
  return dir;
}

bool run_postgres_sql(const std::string& uri, const std::string& sql) {
  PGconn* conn = PQconnectdb(uri.c_str());
  bool ok = PQstatus(conn) == CONNECTION_OK;
  if (ok) {
    PGresult* result = PQexec(conn, sql.c_str());
    ok = PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK;
    if (!ok) std::fprintf(stderr, "run_postgres_sql: %s", PQresultErrorMessage(result));
    PQclear(result);
  } else {
    std::fprintf(stderr, "run_postgres_sql: %s", PQerrorMessage(conn));
  }
  PQfinish(conn);
  return ok;
}

std::string fresh_postgres_catalog(const std::string& name) {
  // One database per test process, one schema per catalog: a schema is made in milliseconds, a
  // database (copied from its template and flushed) in most of a second.
  static const std::string database = [] {
    const std::string db = "keyward_tests_" + std::to_string(::getpid());
    if (!run_postgres_sql(uri_for("postgres"), "DROP DATABASE IF EXISTS " + db) ||
        !run_postgres_sql(uri_for("postgres"), "CREATE DATABASE " + db)) {
      std::fprintf(stderr, "cannot create the test database %s\n", db.c_str());
      std::abort();
    }
    return db;
  }();
  static std::atomic<int> counter{0};
  std::string schema = "kw" + std::to_string(counter++) + "_";
  for (char c : name) schema += (std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_');
  schema.resize(std::min<std::size_t>(schema.size(), 63));
  if (!run_postgres_sql(uri_for(database), "CREATE SCHEMA " + schema)) {
    std::fprintf(stderr, "cannot create the test schema %s\n", schema.c_str());
    std::abort();
  }
  // libpq URI query: options=-c search_path=SCHEMA (percent-encoded), so the catalog's tables land there.
  return uri_for(database) + "&options=-c%20search_path%3D" + schema;
}

}  // namespace keyward::testing
