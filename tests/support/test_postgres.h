// PostgreSQL for tests: a private server for the run (tests/support/pg_server.sh: initdb into a
// directory under /tmp, a Unix socket in that directory only, no TCP), and a fresh database per caller.
//
// Under ctest the `postgres.start` fixture starts the server and names its directory in the file
// $KEYWARD_TEST_PG_STATE; `postgres.stop` stops it. A test binary run by hand starts its own on first
// use and stops it when the process exits.
#pragma once

#include <string>

namespace keyward::testing {

// The server's directory (its Unix socket lives there). Aborts the test run if no server can be started.
const std::string& postgres_socket_dir();

// A libpq URI of a new, empty catalog on that server: a fresh schema (`name` is part of its name) in
// this process's database, selected by the URI's options=-c search_path=….
std::string fresh_postgres_catalog(const std::string& name);

// Runs one SQL statement on the database `uri` names (as the server's superuser); true on success.
bool run_postgres_sql(const std::string& uri, const std::string& sql);

}  // namespace keyward::testing
