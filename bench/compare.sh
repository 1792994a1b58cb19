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

seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N); echo "$end - $start" | bc -l; }
rate() { echo "scale=1; $mib / $1" | bc -l; }  # MiB/s

declare -A r
for t in 1 2; do
  r[enc$t]=$(rate "$(seconds "$bin/keyward" encrypt --kek bench --threads $t "$dir/plain" "$dir/env$t")")
  r[dec$t]=$(rate "$(seconds "$bin/keyward" decrypt --threads $t "$dir/env$t" "$dir/out$t")")
  cmp -s "$dir/plain" "$dir/out$t" || { echo "compare.sh: round trip failed" >&2; exit 1; }
  rm -f "$dir/out$t"
done
age-keygen -o "$dir/age.key" 2>/dev/null
recipient=$(age-keygen -y "$dir/age.key")
r[age_enc]=$(rate "$(seconds age -r "$recipient" -o "$dir/age.out" "$dir/plain")")
r[age_dec]=$(rate "$(seconds age -d -i "$dir/age.key" -o "$dir/age.plain" "$dir/age.out")")
# openssl speed prints kB/s (1000 bytes) for 16384-byte blocks in its last column.
openssl_kbs=$(openssl speed -evp aes-256-gcm -seconds 3 -bytes 16384 2>/dev/null | awk '/^AES-256-GCM/ {print $2}' | tr -d k)
r[openssl]=$(echo "scale=1; $openssl_kbs * 1000 / 1048576" | bc -l)

ratio() { echo "scale=2; $1 / $2" | bc -l; }
printf '| operation | MiB/s | vs openssl speed (1 core) | vs age |\n|---|---|---|---|\n'
printf '| openssl speed -evp aes-256-gcm, 16 KiB blocks | %s | 1.00 | |\n' "${r[openssl]}"
for t in 1 2; do
  printf '| keyward encrypt, %s thread(s) | %s | %s (%s per thread) | %s |\n' $t "${r[enc$t]}" "$(ratio "${r[enc$t]}" "${r[openssl]}")" \
    "$(ratio "$(ratio "${r[enc$t]}" $t)" "${r[openssl]}")" "$(ratio "${r[enc$t]}" "${r[age_enc]}")"
  printf '| keyward decrypt, %s thread(s) | %s | %s (%s per thread) | %s |\n' $t "${r[dec$t]}" "$(ratio "${r[dec$t]}" "${r[openssl]}")" \
    "$(ratio "$(ratio "${r[dec$t]}" $t)" "${r[openssl]}")" "$(ratio "${r[dec$t]}" "${r[age_dec]}")"
done
printf '| age encrypt | %s | %s | 1.00 |\n' "${r[age_enc]}" "$(ratio "${r[age_enc]}" "${r[openssl]}")"
printf '| age decrypt | %s | %s | 1.00 |\n' "${r[age_dec]}" "$(ratio "${r[age_dec]}" "${r[openssl]}")"
echo "(${mib} MiB file in RAM; files written and read by each tool; $(nproc) cores)"
