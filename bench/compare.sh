#!/usr/bin/env bash
# Streaming throughput in one run: keyward encrypt/decrypt of a 1 GiB file (1 and 2 threads),
# `openssl speed -evp aes-256-gcm` (single core, 16 KiB blocks) and age on the same file; prints the
# rates and their ratios. Needs KEYWARD_TOKEN pointing at a token with a KEK "bench" (bench/run.sh).
#   bench/compare.sh [BIN_DIR] [SIZE_MIB]
set -euo pipefail
bin="${1:-build/bin}"
mib="${2:-1024}"
command -v age >/dev/null || { echo "compare.sh: age is missing (apt-get install age)" >&2; exit 2; }
# Files live in RAM (/dev/shm) so that the disk is not what is measured.
dir=$(mktemp -d "${TMPDIR_FOR_BENCH:-/dev/shm}/keyward-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
head -c $((mib * 1024 * 1024)) /dev/urandom > "$dir/plain"

# measure NAME COMMAND...: best of 3 wall-clock runs. This sandbox's kernel time is high and noisy, so
# a plain `cat` of the file is measured too, as the floor for moving the bytes at all. (User-CPU time
# is not reported: this sandbox under-counts it for multi-threaded processes.)
declare -A wall
measure() {
  local name=$1; shift
  local best="" i
  for i in 1 2 3; do
    /usr/bin/time -f "%e" -o "$dir/time" "$@" >/dev/null 2>"$dir/stderr" || { cat "$dir/stderr" >&2; exit 1; }
    local e; e=$(cat "$dir/time")
    if [ -z "$best" ] || [ "$(echo "$e < $best" | bc -l)" = 1 ]; then best=$e; fi
  done
  wall[$name]=$best
}
rate() { if [ "$(echo "$1 <= 0" | bc -l)" = 1 ]; then echo "-"; else echo "scale=1; $mib / $1" | bc -l; fi; }  # MiB/s
ratio() { if [ "$1" = "-" ] || [ "$2" = "-" ]; then echo "-"; else echo "scale=2; $1 / $2" | bc -l; fi; }

measure cat bash -c "cat '$dir/plain' > '$dir/cat.out'"
for t in 1 2; do
  measure enc$t "$bin/keyward" encrypt --force --kek bench --threads $t "$dir/plain" "$dir/env$t"
  measure dec$t "$bin/keyward" decrypt --force --threads $t "$dir/env$t" "$dir/out$t"
  cmp -s "$dir/plain" "$dir/out$t" || { echo "compare.sh: round trip failed" >&2; exit 1; }
  rm -f "$dir/out$t"
done
age-keygen -o "$dir/age.key" 2>/dev/null
recipient=$(age-keygen -y "$dir/age.key")
measure age_enc age -r "$recipient" -o "$dir/age.out" "$dir/plain"
measure age_dec age -d -i "$dir/age.key" -o "$dir/age.plain" "$dir/age.out"
# openssl speed prints kB/s (1000 bytes) for 16384-byte blocks in its last column.
openssl_kbs=$(openssl speed -evp aes-256-gcm -seconds 3 -bytes 16384 2>/dev/null | awk '/^AES-256-GCM/ {print $2}' | tr -d k)
openssl=$(echo "scale=1; $openssl_kbs * 1000 / 1048576" | bc -l)

printf '| operation | MiB/s | vs openssl speed (per thread) | vs age |\n|---|---|---|---|\n'
printf '| openssl speed -evp aes-256-gcm, 16 KiB blocks, 1 core | %s | 1.00 | |\n' "$openssl"
printf '| cat (no crypto: the cost of moving the bytes here) | %s | %s | |\n' "$(rate "${wall[cat]}")" \
  "$(ratio "$(rate "${wall[cat]}")" "$openssl")"
row() {  # row LABEL KEY THREADS AGE_KEY
  local w; w=$(rate "${wall[$2]}")
  printf '| %s | %s | %s (%s) | %s |\n' "$1" "$w" "$(ratio "$w" "$openssl")" "$(ratio "$(ratio "$w" "$3")" "$openssl")" \
    "$(ratio "$w" "$(rate "${wall[$4]}")")"
}
for t in 1 2; do
  row "keyward encrypt, $t crypto thread(s)" enc$t $t age_enc
  row "keyward decrypt, $t crypto thread(s)" dec$t $t age_dec
done
row "age encrypt" age_enc 1 age_enc
row "age decrypt" age_dec 1 age_dec
echo "(${mib} MiB file in RAM; files written and read by each tool; best of 3 runs each; $(nproc) cores;" \
  "keyward reads and writes on one more thread besides its crypto threads)"
