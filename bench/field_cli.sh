#!/usr/bin/env bash
# `keyward field encrypt|decrypt` end to end: LINES values of 64 bytes, one per line, through the CLI
# (process start, token login, catalog, line I/O, crypto), with the token already initialised and
# the scope's DEK already created. Prints values/s (best of 3), the start-up cost alone (1 line),
# and the machine load. Needs KEYWARD_TOKEN naming a token with KEK "bench" (bench/run.sh).
#   bench/field_cli.sh [BIN_DIR] [LINES]
set -euo pipefail
bin="${1:-build/bin}"
lines="${2:-100000}"
dir=$(mktemp -d "${TMPDIR_FOR_BENCH:-/dev/shm}/keyward-field-cli.XXXXXX")
trap 'rm -rf "$dir"' EXIT
export KEYWARD_CATALOG="$dir/catalog.db"
scope="tenant:bench/table:users/column:email"

# 64 printable bytes per line.
head -c $((lines * 48)) /dev/urandom | base64 -w 64 | head -n "$lines" > "$dir/plain"
head -n 1 "$dir/plain" > "$dir/one"
"$bin/keyward" field encrypt --scope "$scope" --kek bench < "$dir/one" > /dev/null  # the scope's DEK

best() {  # best NAME COMMAND: best wall-clock seconds of 3 runs, and that run's CPU seconds (user + sys)
  local name=$1; shift
  local b="" c="" i e
  for i in 1 2 3; do
    /usr/bin/time -f "%e %U %S" -o "$dir/time" bash -c "exec $*" 2>"$dir/err" || { cat "$dir/err" >&2; exit 1; }
    read -r e u s < <(tail -1 "$dir/time")
    if [ -z "$b" ] || [ "$(echo "$e < $b" | bc -l)" = 1 ]; then b=$e; c=$(echo "$u + $s" | bc -l); fi
  done
  eval "$name=$b; ${name}_cpu=$c"
}
best enc "'$bin/keyward' field encrypt --scope '$scope' --kek bench < '$dir/plain' > '$dir/values'"
best dec "'$bin/keyward' field decrypt --scope '$scope' < '$dir/values' > '$dir/out'"
cmp -s "$dir/plain" "$dir/out" || { echo "field_cli.sh: round trip failed" >&2; exit 1; }
"$bin/keyward" field encrypt --scope "$scope" --kek bench --suite deterministic < "$dir/plain" > "$dir/det"
best dec_det "'$bin/keyward' field decrypt --scope '$scope' < '$dir/det' > '$dir/out'"
best start "'$bin/keyward' field decrypt --scope '$scope' < <(head -n 1 '$dir/values') > /dev/null"

per_s() { if [ "$(echo "$1 <= 0" | bc -l)" = 1 ]; then echo "-"; else echo "scale=0; $lines / $1" | bc -l; fi; }
printf '| keyward field, %s lines of 64 B | wall s | values/s (wall) | CPU s | values/s per CPU second |\n|---|---|---|---|---|\n' "$lines"
row() { printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$(per_s "$2")" "$3" "$(per_s "$3")"; }
row "encrypt (randomized)" "$enc" "$enc_cpu"
row "decrypt --scope (randomized)" "$dec" "$dec_cpu"
row "decrypt --scope (deterministic)" "$dec_det" "$dec_det_cpu"
printf '| start-up alone (decrypt of 1 line) | %s | | %s | |\n' "$start" "$start_cpu"
echo "(best of 3 wall-clock runs, with that run's user + sys CPU; files in RAM; $(nproc) cores;" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); token objects: $(find "$(dirname "${SOFTHSM2_CONF:-/}")/tokens" -type f -name '*.object' 2>/dev/null | wc -l))"
