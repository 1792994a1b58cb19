#!/usr/bin/env bash
# Demo step: the key ceremony on the dev token (called by scripts/demo.sh).
set -euo pipefail
bin="$1"; dir="$2"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
rm -rf "$dir"; mkdir -p "$dir/shares"
t="$dir/ceremony-transcript.jsonl"

step "3. Ceremony: root v1 from the token's RNG, backed up 3-of-5 (Shamir over GF(2^8))"
"$bin/keyward-ceremony" init --shares 5 --threshold 3 --share-dir "$dir/shares" --transcript "$t" \
  --operator demo-operator --witness demo-witness

step "4. Ceremony: KEK family 'payments' (wrap-only, unwrapped under the root's template)"
"$bin/keyward-ceremony" kek create payments --transcript "$t" --operator demo-operator --witness demo-witness
"$bin/keyward-ceremony" kek list

step "5. Every keyward object against the key policy"
"$bin/keyward-ceremony" verify

step "6. The signed, hash-chained transcript"
"$bin/keyward-ceremony" transcript verify "$t"
