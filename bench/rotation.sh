#!/usr/bin/env bash
# Rotation throughput in one run: the raw SoftHSM floor (bare C_UnwrapKey + C_WrapKey +
# C_DestroyObject loop) next to keyward-rotate run with 1, 2 and 4 workers, a 1 M-DEK catalog, the
# key-section rewrap of a 10 GiB envelope, and a worker's peak RSS.
#   bench/rotation.sh [BUILD_DIR] [DEKS (default 100000)] [BIG (default 1000000)]
set -euo pipefail
build="${1:-build}"; deks="${2:-100000}"; big="${3:-1000000}"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$root/$build/bin"
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
"$root/softhsm-conf/make-token.sh" --dir "$dir/token" --label keyward-rotbench --force --quiet --bin "$bin"
# shellcheck disable=SC1091
. "$dir/token/env"
export KEYWARD_CATALOG="$dir/catalog.db"
"$bin/keyward-ceremony" init --transcript "$dir/t.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create bench --transcript "$dir/t.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create bench --transcript "$dir/t.jsonl" >/dev/null

echo "== token floor and per-call costs"
"$bin/rewrap_bench" --benchmark_min_time=2 --benchmark_format=console | tee "$dir/floor.txt"
items_per_second() {  # items_per_second BENCHMARK_NAME: from the console output, as a plain number
  local v; v=$(awk -v name="$1" '$1 == name {for (i = 1; i <= NF; i++) if ($i ~ /items_per_second/) {sub("items_per_second=", "", $i); print $i}}' "$dir/floor.txt")
  case "$v" in *k/s) echo "${v%k/s} * 1000" | bc -l ;; *M/s) echo "${v%M/s} * 1000000" | bc -l ;; *) echo "${v%/s}" ;; esac
}
floor=$(items_per_second BM_RawTokenFloor)
session_floor=$(items_per_second BM_RawSessionKekFloor)

"$bin/keyward-test-seed" seed --catalog "$KEYWARD_CATALOG" --kek bench --count "$deks" --distinct 1000 >/dev/null
# Two floors, both bare unwrap + wrap + destroy loops in one process: with the token KEK objects (the
# issue's floor) and with session copies of the KEKs (what the workers use: SoftHSM re-reads a token
# object's file on every use). Per-worker ratios are against the session-KEK floor, like for like.
printf '\n| workers | DEKs | seconds | rewraps/s | vs token-KEK floor | vs session-KEK floor | per worker (session-KEK floor) |\n'
printf '|---|---|---|---|---|---|---|\n'
for workers in 1 2 4; do
  "$bin/keyward-rotate" start --kek bench >/dev/null
  start=$(date +%s.%N)
  "$bin/keyward-rotate" run --workers "$workers" --batch 1000 >/dev/null 2>&1
  end=$(date +%s.%N)
  seconds=$(echo "$end - $start" | bc -l)
  rate=$(echo "$deks / $seconds" | bc -l)
  printf '| %s | %s | %.2f | %.0f | %.2f | %.2f | %.2f |\n' "$workers" "$deks" "$seconds" "$rate" "$(echo "$rate / $floor" | bc -l)" \
    "$(echo "$rate / $session_floor" | bc -l)" "$(echo "$rate / $session_floor / $workers" | bc -l)"
done
printf '| raw floor, token KEKs | | | %.0f | 1.00 | | |\n' "$floor"
printf '| raw floor, session KEK copies | | | %.0f | | 1.00 | |\n' "$session_floor"
echo
echo "== $big catalog DEKs, 2 workers, and one worker's peak RSS"
"$bin/keyward-test-seed" seed --catalog "$KEYWARD_CATALOG" --kek bench --count $((big - deks)) --distinct 1000 >/dev/null
"$bin/keyward-rotate" start --kek bench >/dev/null
start=$(date +%s.%N)
"$bin/keyward-rotate" run --workers 2 --batch 1000 >/dev/null 2>&1
end=$(date +%s.%N)
printf '%s DEKs rotated in %.1f s with 2 workers\n' "$big" "$(echo "$end - $start" | bc -l)"
"$bin/keyward-rotate" start --kek bench >/dev/null
target=$("$bin/keyward-rotate" status --json | sed -n 's/.*"rotation_target": \([0-9]*\).*/\1/p' | head -1)
/usr/bin/time -f "%M" -o "$dir/rss" "$bin/keyward-rotate" worker --kek bench --target "$target" --shard 0 --shards 1 >/dev/null
printf 'peak RSS of one worker rewrapping all %s DEKs: %s MiB\n' "$big" "$(echo "$(cat "$dir/rss") / 1024" | bc)"
