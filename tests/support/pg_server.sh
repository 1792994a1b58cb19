#!/usr/bin/env bash
# A private PostgreSQL server for the tests: initdb into a fresh directory under /tmp, listening on a
# Unix socket in that directory only (no TCP), trust authentication (only the socket's directory,
# mode 0700, lets anyone in), stopped and removed afterwards.
#
#   pg_server.sh start STATE_FILE   starts one and writes its directory (also its socket directory) to STATE_FILE
#   pg_server.sh stop STATE_FILE    stops the server named in STATE_FILE and removes its directory
#
# initdb refuses to run as root, and CI runs as root: then the server runs as the `postgres` system
# user that Debian's postgresql package creates, in a directory under /tmp that it owns (a build
# tree under /root would not be reachable for it). The test process, root, reaches the socket anyway.
set -euo pipefail

action=${1:?usage: pg_server.sh start|stop STATE_FILE}
state=${2:?usage: pg_server.sh start|stop STATE_FILE}
bindir=${KEYWARD_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$bindir/initdb" ] || { echo "pg_server.sh: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 3; }

as_server_user() {
  # From / : initdb and pg_ctl resolve their own path from the working directory, which the postgres
  # user may not be allowed to enter (a build tree under /root).
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

stop() {
  [ -f "$state" ] || return 0
  local dir
  dir=$(cat "$state")
  if [ -n "$dir" ] && [ -d "$dir/data" ]; then
    as_server_user "$bindir/pg_ctl" -D "$dir/data" -m immediate -s stop >/dev/null 2>&1 || true
  fi
  case "$dir" in /tmp/keyward-pg.*) rm -rf "$dir" ;; esac
  rm -f "$state"
}

case "$action" in
  start)
    stop  # a server left by an interrupted run
    mkdir -p "$(dirname "$state")"
    dir=$(mktemp -d /tmp/keyward-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    echo "$dir" >"$state"
    as_server_user "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 3; }
    # fsync stays on: the crash tests kill clients, never the server, but a benchmark must pay what production pays.
    as_server_user "$bindir/pg_ctl" -D "$dir/data" -w -s -l "$dir/server.log" \
      -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=200" start ||
      { cat "$dir/server.log" >&2; exit 3; }
    ;;
  stop) stop ;;
  *) echo "usage: pg_server.sh start|stop STATE_FILE" >&2; exit 2 ;;
esac
