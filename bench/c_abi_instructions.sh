#!/usr/bin/env bash
# Instructions per 64-byte field value through the C++ API, the C ABI and its batches, counted by
# callgrind: independent of the machine's load (wall-clock rates on a shared machine are not). Each
# benchmark runs N and 2N iterations; the difference over N is the cost of one value (setup cancels).
# valgrind counts a `rep` string instruction once per repetition, so large memset/memcpy (the batch
# outputs) are over-counted compared with the hardware.
#   bench/c_abi_instructions.sh BIN_DIR   (KEYWARD_TOKEN: a token with KEK family "bench")
set -euo pipefail
bin="${1:?usage: c_abi_instructions.sh BIN_DIR}"
command -v valgrind >/dev/null || { echo "c_abi_instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
count() {  # count BENCHMARK ITERATIONS -> instructions of the whole run
  KEYWARD_BENCH_ITERATIONS=$2 valgrind --tool=callgrind --callgrind-out-file="$t/out" "$bin/c_abi_bench" \
    --benchmark_filter="^$1/" 2>&1 | awk '/Collected/ {print $4}'
}
declare -A per_value
for b in BM_CppFieldEncrypt BM_CAbiFieldEncrypt BM_CppFieldDecrypt BM_CAbiFieldDecrypt \
         BM_CAbiFieldEncryptBatch BM_CAbiFieldDecryptBatch; do
  if [[ $b == *Batch ]]; then n=4; values=1000; else n=2000; values=1; fi
  small=$(count "$b" "$n"); large=$(count "$b" $((2 * n)))
  # Each benchmark is registered twice (two rounds): 2n more iterations in all.
  per_value[$b]=$(( (large - small) / (2 * n * values) ))
done
printf '%-28s %14s %10s\n' benchmark instr/value "× C++"
for op in Encrypt Decrypt; do
  ref=${per_value[BM_CppField$op]}
  for b in BM_CppField$op BM_CAbiField$op BM_CAbiField${op}Batch; do
    printf '%-28s %14d %10.2f\n' "$b" "${per_value[$b]}" "$(echo "$ref / ${per_value[$b]}" | bc -l)"
  done
done
