#!/usr/bin/env bash
# keyward encrypt/decrypt/inspect through the CLI, and every failure a user can meet: each must exit
# 1 (or 2/3 as INTERFACE.md says), name the cause, and leave no output file.
. "$(dirname "$0")/lib.sh"
kw="$bin/keyward"
new_token_dir tok keyward-cli
"$bin/keyward-ceremony" init --transcript "$work/t.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create payments --transcript "$work/t.jsonl" >/dev/null
head -c 2500000 /dev/urandom > "$work/plain"
: > "$work/empty"

expect_status 0 "encrypt" -- "$kw" encrypt --kek payments --context tenant=acme --context table=users \
  --segment-size 65536 --threads 2 "$work/plain" "$work/env"
expect_status 0 "decrypt" -- "$kw" decrypt --context table=users --context tenant=acme --threads 2 "$work/env" "$work/out"
cmp -s "$work/plain" "$work/out" && pass "round trip is byte-identical" || flunk "round trip differs"
expect_status 0 "encrypt an empty file" -- "$kw" encrypt --kek payments "$work/empty" "$work/env0"
expect_status 0 "decrypt an empty file" -- "$kw" decrypt "$work/env0" "$work/out0"
[ -f "$work/out0" ] && [ ! -s "$work/out0" ] && pass "empty round trip" || flunk "empty round trip"
expect_status 0 "stdin to stdout" -- bash -c "'$kw' encrypt --kek payments - - < '$work/plain' | '$kw' decrypt - - | cmp - '$work/plain'"
expect_status 0 "inspect" -- "$kw" inspect "$work/env"
expect_grep '"kek_version": 1' "$work/last.out" "inspect shows the KEK version"
expect_grep '"tenant": "acme"' "$work/last.out" "inspect shows the context"

fails() {  # fails DESCRIPTION PATTERN ENVELOPE [decrypt options...]
  local what=$1 pattern=$2 envelope=$3; shift 3
  rm -f "$work/bad-out"
  expect_status 1 "$what is refused" -- "$kw" decrypt "$@" "$envelope" "$work/bad-out"
  expect_grep "$pattern" "$work/last.err" "$what: the message names the cause"
  [ ! -e "$work/bad-out" ] && pass "$what: no output file" || flunk "$what: an output file was left"
  ls "$work"/bad-out.keyward-tmp-* >/dev/null 2>&1 && flunk "$what: a temporary file was left" || true
}
fails "a wrong context" "context mismatch" "$work/env" --context tenant=other --context table=users
fails "a missing context" "context mismatch" "$work/env"
cp "$work/env" "$work/tampered"; printf '\x01' | dd of="$work/tampered" bs=1 seek=200000 conv=notrunc status=none
fails "a tampered segment" "segment [0-9]+ failed authentication" "$work/tampered" --context tenant=acme --context table=users
head -c $((378 + 17 + 2 * (65536 + 16))) "$work/env" > "$work/truncated"
fails "a truncated envelope" "truncated" "$work/truncated" --context tenant=acme --context table=users
expect_status 1 "garbage is refused" -- "$kw" decrypt "$work/plain" "$work/bad-out"
expect_grep "not a keyward envelope" "$work/last.err" "garbage: the message says it is not an envelope"

# An envelope whose key section names a KEK version the token does not have.
"$bin/keyward-ceremony" kek create other --transcript "$work/t.jsonl" >/dev/null
"$kw" encrypt --kek other "$work/empty" "$work/env-other" 2>/dev/null
new_token_dir tok2 keyward-cli-2
fails "the wrong token" "does not hold" "$work/env"  --context tenant=acme --context table=users
expect_status 2 "a bad --context is a usage error" -- "$kw" decrypt --context novalue "$work/env" "$work/bad-out"
expect_status 2 "a pin-value on the command line is refused" -- "$kw" decrypt \
  --token "pkcs11:token=keyward-cli?pin-value=1234" "$work/env" "$work/bad-out"
expect_status 0 "--help" -- "$kw" --help

# Field-level encryption through the catalog (back on the first token).
. "$work/tok/env"
cat="$work/catalog.db"
printf 'alice@example.com\nbob@example.com\n' > "$work/emails"
expect_status 0 "field encrypt (randomized)" -- bash -c "'$kw' field encrypt --catalog '$cat' --scope acme/users/email \
  --kek payments --context table=users --context column=email --context row=7 < '$work/emails' > '$work/rand'"
expect_status 0 "field decrypt" -- bash -c "'$kw' field decrypt --catalog '$cat' --context table=users --context column=email \
  --context row=7 < '$work/rand' | cmp - '$work/emails'"
expect_status 1 "field decrypt with another row's context is refused" -- bash -c "'$kw' field decrypt --catalog '$cat' \
  --context table=users --context column=email --context row=8 < '$work/rand'"
expect_status 0 "field encrypt (deterministic)" -- bash -c "'$kw' field encrypt --catalog '$cat' --scope acme/users/email \
  --kek payments --suite deterministic --context table=users --context column=email < '$work/emails' > '$work/det'"
expect_status 0 "field lookup" -- bash -c "printf 'bob@example.com\n' | '$kw' field lookup --catalog '$cat' \
  --scope acme/users/email --context table=users --context column=email > '$work/lookup'"
[ "$(cut -f1 "$work/lookup")" = "$(sed -n 2p "$work/det")" ] && pass "lookup finds the stored deterministic value" \
  || flunk "lookup value differs from the stored one"
expect_status 0 "blind index lookup" -- bash -c "printf 'bob@example.com\n' | '$kw' field lookup --catalog '$cat' \
  --scope acme/users/email --blind-index 8 --context column=email"
finish
