#!/usr/bin/env bash
# The audit log's cost (issue 13): bench/audit_bench without and with an audit log, 3 runs on a fresh
# token, and the ratio audited/unaudited of items per second for each run (targets: field ≥ 0.95,
# small envelope ≥ 0.9, rotation batch ≥ 0.95). Prints the load with the numbers.
#   bench/audit.sh [BUILD_DIR]
set -euo pipefail
build="${1:-build}"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$root/$build/bin"
"$root/softhsm-conf/make-token.sh" --dir "$root/$build/bench-audit-token" --label keyward-audit-bench --force --quiet --bin "$bin"
# shellcheck disable=SC1091
. "$root/$build/bench-audit-token/env"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
export KEYWARD_CATALOG="$t/catalog.db"  # the tools' own audit log goes beside it, not into the working directory
"$bin/keyward-ceremony" init --transcript "$t/transcript.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create bench --transcript "$t/transcript.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create bench --transcript "$t/transcript.jsonl" >/dev/null
for run in 1 2 3; do
  echo "== run $run, load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
  TMPDIR="$t" "$bin/audit_bench" --benchmark_out="$t/run$run.json" --benchmark_out_format=json >/dev/null
  python3 - "$t/run$run.json" <<'PY'
import json, sys
rows = {b["name"]: b["items_per_second"] for b in json.load(open(sys.argv[1]))["benchmarks"]}
for name in ("BM_FieldEncrypt", "BM_SmallEnvelope", "BM_RotationBatch"):
    off, on = rows[name + "/0/min_time:1.000"], rows[name + "/1/min_time:1.000"]
    print(f"{name:18s} without {off:12.0f}/s  with {on:12.0f}/s  ratio {on / off:.3f}")
PY
done
