#!/usr/bin/env bash
# All benchmarks in one run (make bench): Google Benchmark programs, then bench/compare.sh.
#   bench/run.sh [BUILD_DIR]
set -euo pipefail
build="${1:-build}"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$root/$build/bin"
"$root/softhsm-conf/make-token.sh" --dir "$root/$build/bench-token" --label keyward-bench --force --quiet --bin "$bin"
# shellcheck disable=SC1091
. "$root/$build/bench-token/env"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
"$bin/keyward-ceremony" init --transcript "$t/transcript.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create bench --transcript "$t/transcript.jsonl" >/dev/null

echo "== segments (AES-256-GCM per segment, vs raw EVP in the same run)"
"$bin/segment_bench" --benchmark_min_time=0.5
echo "== fields, 64-byte values with the DEK in memory (vs raw EVP 64-byte seal in the same run)"
"$bin/field_bench" --benchmark_min_time=0.5
echo "== openssl speed -aead -evp aes-256-gcm, 64-byte ops (reference for field ops)"
openssl speed -aead -evp aes-256-gcm -seconds 3 -bytes 64 2>/dev/null | tail -2
echo "== DEK cache hit vs token unwrap"
"$bin/cache_bench" --benchmark_min_time=0.5
echo "== streaming, 1 GiB"
bash "$root/bench/compare.sh" "$bin" "${BENCH_MIB:-1024}"
