#!/usr/bin/env bash
# All benchmarks in one run (make bench): the field CLI end to end (bench/field_cli.sh), fields through
# KeyService next to libmongocrypt and openssl speed (field_bench, mongocrypt_bench, field_summary.py),
# segments, the DEK cache, then streams (bench/compare.sh). Prints the machine load with the numbers.
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

echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
# The CLI first, while the token holds one KEK family (field_bench adds 49 more).
echo "== keyward field end to end (bench/field_cli.sh)"
bash "$root/bench/field_cli.sh" "$bin" "${BENCH_FIELD_LINES:-100000}"
echo "== fields through KeyService, 64-byte values, DEK cached; libmongocrypt and openssl speed in the same run"
"$bin/field_bench" --benchmark_min_time=0.5 --benchmark_out="$t/field.json" --benchmark_out_format=json
mongo_json=""
if [ -x "$bin/mongocrypt_bench" ]; then
  "$bin/mongocrypt_bench" --benchmark_min_time=0.5 --benchmark_out="$t/mongo.json" --benchmark_out_format=json
  mongo_json="$t/mongo.json"
fi
openssl_kbs=$(openssl speed -aead -evp aes-256-gcm -seconds 3 -bytes 64 2>/dev/null | awk '/^AES-256-GCM/ {print $2}' | tr -d k)
python3 "$root/bench/field_summary.py" "$t/field.json" "$(echo "$openssl_kbs * 1000 / 64" | bc -l)" $mongo_json
echo "== fields through the C ABI and Python next to the C++ API (64-byte values, one scope, DEK cached)"
"$bin/c_abi_bench" --benchmark_min_time=0.5 --benchmark_out="$t/c_abi.json" --benchmark_out_format=json >/dev/null
KEYWARD_LIBRARY="$root/$build/libkeyward.so.0" python3 "$root/bench/python_field_bench.py" "$t/python.db" > "$t/python.json"
python3 "$root/bench/c_abi_summary.py" "$t/c_abi.json" "$t/python.json"
echo "== segments (AES-256-GCM per segment, vs raw EVP in the same run)"
"$bin/segment_bench" --benchmark_min_time=0.5
echo "== DEK cache hit vs token unwrap"
"$bin/cache_bench" --benchmark_min_time=0.5
echo "== streaming, ${BENCH_MIB:-1024} MiB from /dev/shm to /dev/null (bench/compare.sh)"
bash "$root/bench/compare.sh" "$bin" "${BENCH_MIB:-1024}"
