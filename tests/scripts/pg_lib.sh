# PostgreSQL for the shell tests (sourced after lib.sh): the run's private server (the ctest fixture's,
# named in KEYWARD_TEST_PG_STATE), or one of this script's own when run by hand; new_pg_catalog NAME
# creates a database and prints its libpq URI.
pg_state=${KEYWARD_TEST_PG_STATE:-}
if [ -z "$pg_state" ] || [ ! -s "$pg_state" ] || [ ! -e "$(head -n 1 "$pg_state")/data/postmaster.pid" ]; then
  pg_state="$work/postgres.state"
  bash "$KEYWARD_SOURCE_DIR/tests/support/pg_server.sh" start "$pg_state"
  trap 'bash "$KEYWARD_SOURCE_DIR/tests/support/pg_server.sh" stop "$pg_state"' EXIT
fi
pg_dir=$(head -n 1 "$pg_state")
pg_uri() { echo "postgresql:///$1?host=$pg_dir&user=postgres"; }
new_pg_catalog() {
  local db="kw_$(basename "$work" | tr -c 'a-zA-Z0-9\n' '_' | tr 'A-Z' 'a-z')_$1"
  psql -q -v ON_ERROR_STOP=1 "$(pg_uri postgres)" -c "CREATE DATABASE $db" >/dev/null
  pg_uri "$db"
}
# pg_sql URI SQL: one value per line, fields separated by |.
pg_sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$1" -c "$2"; }
