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

step "7. Envelope encryption: a sample file, AES-256-GCM on the CPU, DEK generated and wrapped in the token"
head -c 4194304 /dev/urandom > "$dir/sample.bin"
"$bin/keyward" encrypt --kek payments --context tenant=demo --context purpose=sample --threads 2 \
  "$dir/sample.bin" "$dir/sample.kw"
"$bin/keyward" inspect "$dir/sample.kw"
"$bin/keyward" decrypt --context tenant=demo --context purpose=sample "$dir/sample.kw" "$dir/sample.out"
cmp "$dir/sample.bin" "$dir/sample.out" && echo "decrypted file is identical to the original"
if "$bin/keyward" decrypt --context tenant=someone-else --context purpose=sample "$dir/sample.kw" "$dir/wrong.out" 2>"$dir/wrong.err"; then
  echo "ERROR: a wrong context decrypted" >&2; exit 1
fi
echo "wrong context refused: $(cat "$dir/wrong.err")"

step "8. Field-level encryption: per-scope DEK in the catalog, randomized and deterministic values"
cat="$dir/catalog.db"
printf 'alice@example.com\nbob@example.com\n' > "$dir/emails"
echo "randomized (table/column/row bound):"
"$bin/keyward" field encrypt --catalog "$cat" --scope demo/users/email --kek payments \
  --context table=users --context column=email --context row=1 < "$dir/emails" | tee "$dir/emails.rand"
echo "deterministic (equality lookups):"
"$bin/keyward" field encrypt --catalog "$cat" --scope demo/users/email --kek payments --suite deterministic \
  --context table=users --context column=email < "$dir/emails" | tee "$dir/emails.det"
echo "lookup of bob@example.com under every live DEK of the scope:"
printf 'bob@example.com\n' | "$bin/keyward" field lookup --catalog "$cat" --scope demo/users/email \
  --context table=users --context column=email
echo "decrypted:"
"$bin/keyward" field decrypt --catalog "$cat" --context table=users --context column=email --context row=1 < "$dir/emails.rand"

step "9. Rotation: a new KEK version, every DEK rewrapped inside the token (catalog and envelope file)"
export KEYWARD_CATALOG="$cat"
"$bin/keyward-rotate" start --kek payments
"$bin/keyward-rotate" run --workers 2 "$dir/sample.kw"
"$bin/keyward-rotate" status
echo "the envelope's key section now names:"
"$bin/keyward" inspect "$dir/sample.kw" | grep '"kek_label"'

step "10. Retire the old KEK version (allowed: nothing references it any more), then decrypt everything again"
"$bin/keyward-rotate" retire --kek payments --version 1 --escrow "$dir/payments-v1.escrow.kekblob"
"$bin/keyward" decrypt --context tenant=demo --context purpose=sample "$dir/sample.kw" "$dir/sample.again"
cmp "$dir/sample.bin" "$dir/sample.again" && echo "sample file decrypts under v2: identical"
"$bin/keyward" field decrypt --context table=users --context column=email --context row=1 < "$dir/emails.rand"
"$bin/keyward-ceremony" verify
