#!/usr/bin/env bash
# Streaming throughput in one run: keyward encrypt/decrypt of a file in RAM (/dev/shm) to /dev/null
# with 1 and 2 crypto threads, `openssl speed -evp aes-256-gcm` (one core, 16 KiB blocks), age on the
# same file, and `cat` of it (the floor: moving the bytes with no crypto). Prints a table with ratios,
# the wall-clock and the CPU time (user + sys) of each best run, and the machine load. Needs
# KEYWARD_TOKEN naming a token with KEK "bench" (bench/run.sh).
#   bench/compare.sh [BIN_DIR] [SIZE_MIB] [RUNS]
set -euo pipefail
bin="${1:-build/bin}"
mib="${2:-1024}"
runs="${3:-3}"
command -v age >/dev/null || { echo "compare.sh: age is missing (apt-get install age)" >&2; exit 2; }
dir=$(mktemp -d "${TMPDIR_FOR_BENCH:-/dev/shm}/keyward-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
head -c $((mib * 1024 * 1024)) /dev/urandom > "$dir/plain"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# measure NAME COMMAND...: best wall-clock of $runs runs, and that run's user + sys CPU seconds.
declare -A wall cpu
measure() {
  local name=$1; shift
  local best="" best_cpu="" i e u s
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -f "%e %U %S" -o "$dir/time" "$@" >/dev/null 2>"$dir/stderr" || { cat "$dir/stderr" >&2; exit 1; }
    read -r e u s < <(tail -1 "$dir/time")
    if [ -z "$best" ] || [ "$(echo "$e < $best" | bc -l)" = 1 ]; then best=$e; best_cpu=$(echo "$u + $s" | bc -l); fi
  done
  wall[$name]=$best
  cpu[$name]=$best_cpu
}
rate() { if [ "$(echo "$1 <= 0" | bc -l)" = 1 ]; then echo "-"; else echo "scale=0; $mib / $1" | bc -l; fi; }  # MiB/s
ratio() { if [ "$1" = "-" ] || [ "$2" = "-" ]; then echo "-"; else echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; fi; }

"$bin/keyward" encrypt --force --kek bench "$dir/plain" "$dir/env" 2>/dev/null
"$bin/keyward" decrypt "$dir/env" - | cmp -s - "$dir/plain" || { echo "compare.sh: round trip failed" >&2; exit 1; }
age-keygen -o "$dir/age.key" 2>/dev/null
recipient=$(age-keygen -y "$dir/age.key")
age -r "$recipient" -o "$dir/age.out" "$dir/plain"

measure cat cat "$dir/plain"
for t in 1 2; do
  measure enc$t "$bin/keyward" encrypt --kek bench --threads $t "$dir/plain" /dev/null
  measure dec$t "$bin/keyward" decrypt --threads $t "$dir/env" /dev/null
done
measure age_enc age -r "$recipient" -o /dev/null "$dir/plain"
measure age_dec age -d -i "$dir/age.key" -o /dev/null "$dir/age.out"
# openssl speed prints kB/s (1000 bytes) for 16384-byte blocks in its last column (user CPU time).
openssl_kbs=$(openssl speed -evp aes-256-gcm -seconds 3 -bytes 16384 2>/dev/null | awk '/^AES-256-GCM/ {print $2}' | tr -d k)
openssl=$(echo "scale=0; $openssl_kbs * 1000 / 1048576" | bc -l)

printf '| %s MiB in /dev/shm → /dev/null | MiB/s | vs openssl speed | vs age | wall s | CPU s |\n' "$mib"
printf '|---|---|---|---|---|---|\n'
printf '| openssl speed -evp aes-256-gcm, 16 KiB blocks, 1 core | %s | 1.00 | | | |\n' "$openssl"
row() {  # row LABEL KEY AGE_KEY
  local w; w=$(rate "${wall[$2]}")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$w" "$(ratio "$w" "$openssl")" \
    "$([ -n "$3" ] && ratio "$w" "$(rate "${wall[$3]}")")" "${wall[$2]}" "${cpu[$2]}"
}
row "cat (no crypto: the floor for moving the bytes)" cat ""
for t in 1 2; do
  row "keyward encrypt, $t crypto thread(s)" enc$t age_enc
  row "keyward decrypt, $t crypto thread(s)" dec$t age_dec
done
row "age encrypt" age_enc ""
row "age decrypt" age_dec ""
echo "(best of $runs wall-clock runs each, CPU = user + sys of that run; keyward reads and writes on one I/O thread"
echo " besides its crypto threads; $(nproc) cores; load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg))"
