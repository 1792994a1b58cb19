#!/usr/bin/env bash
# Regenerates the committed seed corpus: each target writes its fuzz_seeds() (real inputs made by the
# code under test) into tests/fuzz/corpus/<target>/ as seed-<hash> files. Reproducers of findings
# (files not named seed-*) are kept. Run after a format change, then commit what changed.
#   tests/fuzz/write_seeds.sh BIN_DIR     (build/bin or build-fuzz/bin)
set -euo pipefail
bin_dir=${1:?usage: write_seeds.sh BIN_DIR}
corpus=$(cd "$(dirname "$0")" && pwd)/corpus
for target in "$(dirname "$0")"/*_fuzz.cc; do
  name=$(basename "$target" .cc)
  rm -f "$corpus/$name"/seed-*
  "$bin_dir/$name" --write-seeds "$corpus/$name"
done
