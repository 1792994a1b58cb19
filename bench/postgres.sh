#!/usr/bin/env bash
# The PostgreSQL catalog against the SQLite one, in one run on one token (make bench-postgres):
#   1. N catalog DEKs rotated by 2 processes (keyward-rotate run --workers 2), PostgreSQL vs SQLite,
#      REPEAT times each, interleaved; the ratio per repetition and its range.
#   2. A fleet: 4 keyward-rotate run processes at once on PostgreSQL (each its own module instance),
#      one SIGKILLed mid-run and restarted; rewraps/s, and from the database (a trigger logging every
#      version change) 0 DEKs lost and 0 rewrapped twice; every DEK checked against the seed manifest.
#   3. Field encrypt of new scopes from 4 processes (first_use_bench): scopes/s and p50/p99 first-use
#      latency, PostgreSQL vs SQLite.
# The server is private to the run (tests/support/pg_server.sh: a Unix socket only, fsync on).
#   bench/postgres.sh [BUILD_DIR] [N (default 1000000)] [FLEET_N (default 100000)] [SCOPES per process (default 500)] [REPEAT (default 3)]
set -euo pipefail
build="${1:-build}"; n="${2:-1000000}"; fleet_n="${3:-100000}"; scopes="${4:-500}"; repeat="${5:-3}"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$root/$build/bin"
dir=$(mktemp -d)
bash "$root/tests/support/pg_server.sh" start "$dir/pg.state"
trap 'bash "$root/tests/support/pg_server.sh" stop "$dir/pg.state"; rm -rf "$dir"' EXIT
pg_dir=$(head -n 1 "$dir/pg.state")
pg_uri() { echo "postgresql:///$1?host=$pg_dir&user=postgres"; }
pg_sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$1" -c "$2"; }
new_db() { pg_sql "$(pg_uri postgres)" "CREATE DATABASE $1" >/dev/null; pg_uri "$1"; }
"$root/softhsm-conf/make-token.sh" --dir "$dir/token" --label keyward-pgbench --force --quiet --bin "$bin"
# shellcheck disable=SC1091
. "$dir/token/env"
cd "$dir"  # rotation blobs of the PostgreSQL catalogs land here
export KEYWARD_CATALOG="$dir/ceremony.db"
"$bin/keyward-ceremony" init --transcript "$dir/t.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create bench --transcript "$dir/t.jsonl" >/dev/null
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

newest_version() { "$bin/keyward-rotate" status --json --catalog "$1" | sed -n 's/.*"rotation_target": \([0-9]*\).*/\1/p' | head -1; }
seconds_of() { local start; start=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $start" | bc -l; }

echo
echo "== 1. $n catalog DEKs rotated by 2 processes, PostgreSQL vs SQLite ($repeat repetitions)"
sqlite="$dir/rotation.db"
pg=$(new_db rotation)
for catalog in "$sqlite" "$pg"; do
  "$bin/keyward-test-seed" seed --catalog "$catalog" --kek bench --count "$n" --distinct 1000 >/dev/null
done
printf '| repetition | SQLite s | PostgreSQL s | SQLite DEKs/s | PostgreSQL DEKs/s | PostgreSQL / SQLite time |\n|---|---|---|---|---|---|\n'
ratios=()
for r in $(seq 1 "$repeat"); do
  # The same KEK version step for both catalogs: one start on the token, recorded in each catalog.
  "$bin/keyward-rotate" start --kek bench --catalog "$sqlite" >/dev/null
  version=$(newest_version "$sqlite")
  pg_sql "$pg" "UPDATE kek_versions SET state = 'decrypt-only' WHERE family = 'bench';
    INSERT INTO kek_versions VALUES ('bench', $version, 'active', 0, 0) ON CONFLICT DO NOTHING" >/dev/null
  s=$(seconds_of "$bin/keyward-rotate" run --workers 2 --batch 1000 --catalog "$sqlite")
  p=$(seconds_of "$bin/keyward-rotate" run --workers 2 --batch 1000 --catalog "$pg")
  left=$(pg_sql "$pg" "SELECT COUNT(*) FROM deks WHERE kek_version < $version")
  [ "$left" = 0 ] || { echo "PostgreSQL run left $left DEKs below v$version" >&2; exit 1; }
  ratio=$(echo "$p / $s" | bc -l); ratios+=("$ratio")
  printf '| %s | %.1f | %.1f | %.0f | %.0f | %.2f |\n' "$r" "$s" "$p" "$(echo "$n / $s" | bc -l)" "$(echo "$n / $p" | bc -l)" "$ratio"
done
printf 'PostgreSQL / SQLite time: %s (target ≤ 1.3)\n' "$(printf '%s\n' "${ratios[@]}" | sort -n | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.2f–%.2f", lo, hi}')"

echo
echo "== 2. fleet: 4 rotation processes on PostgreSQL, one SIGKILLed mid-run and restarted ($fleet_n DEKs)"
fleet=$(new_db fleet)
"$bin/keyward-test-seed" seed --catalog "$fleet" --kek bench --count "$fleet_n" --distinct 1000 --manifest "$dir/fleet.manifest" >/dev/null
pg_sql "$fleet" "CREATE TABLE rewrap_log (dek_id BYTEA, from_version BIGINT, to_version BIGINT);
  CREATE FUNCTION log_rewrap() RETURNS trigger LANGUAGE plpgsql AS
    \$\$ BEGIN INSERT INTO rewrap_log VALUES (OLD.dek_id, OLD.kek_version, NEW.kek_version); RETURN NEW; END \$\$;
  CREATE TRIGGER log_rewrap AFTER UPDATE OF kek_version ON deks FOR EACH ROW
    WHEN (OLD.kek_version IS DISTINCT FROM NEW.kek_version) EXECUTE FUNCTION log_rewrap()" >/dev/null
"$bin/keyward-rotate" start --kek bench --catalog "$fleet" >/dev/null
target=$(newest_version "$fleet")
start=$(date +%s.%N)
pids=()
for i in 1 2 3 4; do setsid "$bin/keyward-rotate" run --batch 500 --catalog "$fleet" >"$dir/fleet$i.log" 2>&1 & pids+=($!); done
# Kill process 1 (its whole process group) once a quarter of the DEKs are done, then start it again.
while [ "$(pg_sql "$fleet" "SELECT COUNT(*) FROM rewrap_log")" -lt $((fleet_n / 4)) ]; do sleep 0.2; done
kill -9 -- "-${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
killed_at=$(pg_sql "$fleet" "SELECT COUNT(*) FROM rewrap_log")
setsid "$bin/keyward-rotate" run --batch 500 --catalog "$fleet" >"$dir/fleet1b.log" 2>&1 & pids[0]=$!
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
seconds=$(echo "$(date +%s.%N) - $start" | bc -l)
IFS='|' read -r logged distinct twice <<<"$(pg_sql "$fleet" "SELECT COUNT(*), COUNT(DISTINCT dek_id),
  (SELECT COUNT(*) FROM (SELECT 1 FROM rewrap_log GROUP BY dek_id, to_version HAVING COUNT(*) > 1) t) FROM rewrap_log")"
left=$(pg_sql "$fleet" "SELECT COUNT(*) FROM deks WHERE kek_version <> $target")
wasted=$(pg_sql "$fleet" "SELECT SUM(rewraps_already_done) FROM rotation_runs WHERE target_version = $target")
verify=$("$bin/keyward-test-seed" verify --catalog "$fleet" --kek bench --manifest "$dir/fleet.manifest" --version "$target" 2>&1 || true)
printf '| processes | DEKs | seconds | rewraps/s | killed after | runs failed | DEKs rewrapped (log) | distinct | rewrapped twice | left below target | token rewraps wasted |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
printf '| 4 (1 killed + restarted) | %s | %.1f | %.0f | %s | %s | %s | %s | %s | %s | %s |\n' "$fleet_n" "$seconds" \
  "$(echo "$fleet_n / $seconds" | bc -l)" "$killed_at" "$failed" "$logged" "$distinct" "$twice" "$left" "$wasted"
echo "verify: $verify"
pg_sql "$fleet" "SELECT '  run ' || run_id || ' on ' || host || ': ' || outcome || ', ' || deks_rewrapped || ' DEKs'
  FROM rotation_runs WHERE target_version = $target ORDER BY run_id"

echo
echo "== 3. field encrypt of new scopes from 4 processes ($scopes new scopes each)"
printf '| catalog | scopes | seconds | scopes/s | p50 first use ms | p99 first use ms |\n|---|---|---|---|---|---|\n'
for backend in sqlite postgres; do
  if [ "$backend" = sqlite ]; then catalog="$dir/fields.db"; else catalog=$(new_db fields); fi
  KEYWARD_CATALOG="$catalog" "$bin/first_use_bench" 1 warmup >/dev/null  # creates and migrates the catalog
  start=$(date +%s.%N)
  for i in 1 2 3 4; do KEYWARD_CATALOG="$catalog" "$bin/first_use_bench" "$scopes" "p$i" >"$dir/lat.$backend.$i" & done
  wait
  seconds=$(echo "$(date +%s.%N) - $start" | bc -l)
  sort -n "$dir"/lat.$backend.* >"$dir/lat.$backend"
  total=$(wc -l <"$dir/lat.$backend")
  pct() { sed -n "$(( ($1 * total + 99) / 100 ))p" "$dir/lat.$backend"; }
  printf '| %s | %s | %.1f | %.0f | %.2f | %.2f |\n' "$backend" "$total" "$seconds" "$(echo "$total / $seconds" | bc -l)" \
    "$(echo "$(pct 50) / 1000" | bc -l)" "$(echo "$(pct 99) / 1000" | bc -l)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
