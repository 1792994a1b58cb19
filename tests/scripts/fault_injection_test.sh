#!/usr/bin/env bash
# The tools under injected token faults (tests/fault_module/), one token and two: each command either
# succeeds (retry, failover) or fails with exit 3 and a message naming the cause; never a corrupt or
# partial output, never a DEK lost, never a half-applied catalog change or KEK version.
. "$(dirname "$0")/lib.sh"
kw="$bin/keyward"; ceremony="$bin/keyward-ceremony"; rotate="$bin/keyward-rotate"; seed="$bin/keyward-test-seed"
fault_module="$bin/libkeyward_fault_module.so"
[ -f "$fault_module" ] || { echo "missing $fault_module: build the keyward_fault_module target"; exit 1; }
new_token_dir tok fa-faults
softhsm=/usr/lib/softhsm/libsofthsm2.so
plain_uri=$KEYWARD_TOKEN
faulty_uri=${plain_uri/module-path=$softhsm/module-path=$fault_module}
[ "$faulty_uri" != "$plain_uri" ] || { echo "the token URI does not name $softhsm"; exit 1; }
export KEYWARD_FAULT_MODULE=$softhsm KEYWARD_FAULT_COUNT_FILE="$work/injected"
export KEYWARD_CATALOG="$work/catalog.db"
mkdir -p "$work/shares"
"$ceremony" init --shares 3 --threshold 2 --share-dir "$work/shares" --transcript "$work/t.jsonl" >/dev/null
"$ceremony" kek create payments --transcript "$work/t.jsonl" >/dev/null
injected() { [ -f "$work/injected" ] && wc -l < "$work/injected" || echo 0; }
# faulty ENV... -- COMMAND...: COMMAND through the fault module with the given KEYWARD_FAULT_* settings.
faulty() {
  local settings=()
  while [ "$1" != -- ]; do settings+=("$1"); shift; done
  shift
  env KEYWARD_TOKEN="$faulty_uri" "${settings[@]}" "$@"
}

# --- envelopes: a device error is exit 3 and no output; lost sessions are recovered or exit 3 ----------
head -c 300000 /dev/urandom > "$work/plain"
expect_status 3 "encrypt: a device error while wrapping the new DEK is exit 3" -- \
  faulty KEYWARD_FAULT_FAIL=WrapKey@1=DEVICE_ERROR -- "$kw" encrypt --kek payments "$work/plain" "$work/enc"
expect_grep "CKR_DEVICE_ERROR" "$work/last.err" "the message names CKR_DEVICE_ERROR"
[ ! -e "$work/enc" ] && pass "no output file after the failure" || flunk "a failed encrypt left $work/enc"
"$kw" encrypt --kek payments "$work/plain" "$work/enc" 2>/dev/null
expect_status 3 "decrypt: a device error on the unwrap is exit 3" -- \
  faulty KEYWARD_FAULT_FAIL=UnwrapKey@1=DEVICE_ERROR -- "$kw" decrypt "$work/enc" "$work/dec"
[ ! -e "$work/dec" ] && pass "no plaintext file after the failure" || flunk "a failed decrypt left $work/dec"
expect_status 0 "decrypt: a session lost once is recovered (the pool logs in again and retries)" -- \
  faulty KEYWARD_FAULT_FAIL=UnwrapKey@1=SESSION_HANDLE_INVALID -- "$kw" decrypt "$work/enc" "$work/dec"
cmp -s "$work/plain" "$work/dec" && pass "the plaintext is intact" || flunk "decrypted bytes differ"
rm -f "$work/dec"
# Random session loss: every run either succeeds with the right bytes or fails with 3 and leaves nothing.
before=$(injected); ok=0; infra=0
for s in 1 2 3 4 5 6; do
  rm -f "$work/enc.$s" "$work/dec.$s"
  code=0; faulty KEYWARD_FAULT_SESSION_LOSS=0.25 KEYWARD_FAULT_SEED=$s -- \
    "$kw" encrypt --kek payments "$work/plain" "$work/enc.$s" 2>"$work/err.$s" || code=$?
  if [ "$code" = 0 ]; then
    code=0; faulty KEYWARD_FAULT_SESSION_LOSS=0.25 KEYWARD_FAULT_SEED=$((s + 100)) -- \
      "$kw" decrypt "$work/enc.$s" "$work/dec.$s" 2>>"$work/err.$s" || code=$?
  fi
  case "$code" in
    0) if cmp -s "$work/plain" "$work/dec.$s"; then ok=$((ok + 1)); else flunk "run $s: exit 0 with wrong bytes"; fi ;;
    3) if [ -e "$work/dec.$s" ]; then flunk "run $s: exit 3 left a plaintext file"; else infra=$((infra + 1)); fi ;;
    *) flunk "run $s: exit $code ($(tail -1 "$work/err.$s"))" ;;
  esac
done
[ $((ok + infra)) = 6 ] && pass "6 runs under 25% session loss: $ok succeeded, $infra failed cleanly with exit 3" || true
[ "$(injected)" -gt "$before" ] && pass "the fault module dropped sessions ($(( $(injected) - before )) times)" || flunk "no fault injected"

# --- fields: every value printed decrypts; nothing printed for the failing line on -----------------------
export KEYWARD_CATALOG="$work/fields.db"  # apart from the rotation's catalog, whose DEKs the seed tool checks
seq 1 40 | sed 's/^/4111-0000-/' > "$work/cards"
code=0; faulty KEYWARD_FAULT_FAIL=GenerateKey@1=DEVICE_ERROR -- "$kw" field encrypt --scope tenant:a --kek payments \
  < "$work/cards" > "$work/fields.a" 2>"$work/err" || code=$?
[ "$code" = 3 ] && pass "field encrypt: a device error generating the scope's DEK is exit 3" || flunk "field encrypt exit $code"
[ ! -s "$work/fields.a" ] && pass "no value printed without a recorded DEK" || flunk "values printed for a DEK not recorded"
"$kw" field encrypt --scope tenant:a --kek payments < "$work/cards" > "$work/fields.a"
[ "$(wc -l < "$work/fields.a")" = 40 ] && pass "the retry encrypts all 40 values" || flunk "retry printed $(wc -l < "$work/fields.a")"
expect_status 3 "field decrypt: a device error on the unwrap is exit 3" -- \
  faulty KEYWARD_FAULT_FAIL=UnwrapKey@1=DEVICE_ERROR -- sh -c "'$kw' field decrypt --scope tenant:a < '$work/fields.a'"
expect_status 0 "field decrypt: a session lost once is recovered" -- \
  faulty KEYWARD_FAULT_FAIL=UnwrapKey@1=SESSION_HANDLE_INVALID -- sh -c "'$kw' field decrypt --scope tenant:a < '$work/fields.a' > '$work/cards.out'"
cmp -s "$work/cards" "$work/cards.out" && pass "every value decrypts to its card number" || flunk "field values differ"

export KEYWARD_CATALOG="$work/catalog.db"
# --- rotation: a failing run is exit 3 and leaves nothing half-applied; the rerun finishes -----------------
expect_status 0 "seed 300 catalog DEKs" -- "$seed" seed --catalog "$KEYWARD_CATALOG" --kek payments --count 300 --manifest "$work/manifest"
expect_status 0 "start a rotation (v2)" -- "$rotate" start --kek payments
expect_status 3 "run: a device error on the 40th unwrap is exit 3" -- \
  faulty KEYWARD_FAULT_FAIL=UnwrapKey@40=DEVICE_ERROR+ -- "$rotate" run --workers 1 --batch 25
expect_status 0 "every DEK still unwraps to its key, under v1 or v2 (none lost, none half-written)" -- \
  "$seed" verify --catalog "$KEYWARD_CATALOG" --kek payments --manifest "$work/manifest"
expect_status 0 "the rerun without faults finishes" -- "$rotate" run --workers 1
expect_status 0 "every DEK under v2 with its key unchanged" -- \
  "$seed" verify --catalog "$KEYWARD_CATALOG" --kek payments --manifest "$work/manifest" --version 2

# --- ceremony: kek create whose reply is lost is exit 3, and never leaves a half-made version -----------------
for rule in GenerateKey@1=DEVICE_ERROR WrapKey@1=DEVICE_ERROR!after CreateObject@1=DEVICE_ERROR!after; do
  expect_status 3 "kek create with $rule is exit 3" -- \
    faulty KEYWARD_FAULT_FAIL=$rule -- "$ceremony" kek create payments --transcript "$work/t.jsonl"
  expect_status 0 "after it the token still conforms to the key policy (no half-made version)" -- "$ceremony" verify
done
# SoftHSM 2.6.1's creation race answers CKR_GENERAL_ERROR or CKR_TEMPLATE_INCONSISTENT once in a while:
# under the version lock the creation is asked again, and never leaves two keys; a persistent error is exit 3.
before=$(injected)
expect_status 0 "kek create survives one CKR_GENERAL_ERROR from the unwrap that makes the KEK" -- \
  faulty KEYWARD_FAULT_FAIL=UnwrapKey@1=GENERAL_ERROR -- "$ceremony" kek create payments --transcript "$work/t.jsonl"
[ "$(injected)" -gt "$before" ] || flunk "the GENERAL_ERROR rule never fired"
expect_status 0 "and the token conforms (one key per label)" -- "$ceremony" verify
versions_before=$("$ceremony" kek list | grep -c payments)
expect_status 3 "kek create whose unwrap always says CKR_TEMPLATE_INCONSISTENT is exit 3" -- \
  faulty KEYWARD_FAULT_FAIL=UnwrapKey@1=TEMPLATE_INCONSISTENT+ -- "$ceremony" kek create payments --transcript "$work/t.jsonl"
[ "$("$ceremony" kek list | grep -c payments)" = "$versions_before" ] || flunk "a failed kek create left a version"
expect_status 0 "kek create without faults" -- "$ceremony" kek create payments --transcript "$work/t.jsonl"
expect_status 0 "and the token conforms" -- "$ceremony" verify

# --- two tokens: bring one in, pull it, the other serves; a token that differs is refused -------------------
# Both tokens in one SoftHSM configuration (the module reads it once per process).
token_in_conf() {  # token_in_conf LABEL: a second, fresh token beside the first
  "$bin/keyward-token" init --module "$softhsm" --label "$1" --so-pin-source "file:$work/tok/so.pin" \
    --user-pin-source "file:$work/tok/user.pin" >/dev/null
}
token_in_conf fb-faults
b_plain="pkcs11:token=fb-faults?module-path=$softhsm&pin-source=file:$work/tok/user.pin"
b_faulty="pkcs11:token=fb-faults?module-path=$fault_module&pin-source=file:$work/tok/user.pin"
a_faulty=$faulty_uri
set_cmd() { env KEYWARD_FAULT_TOKEN=fb-faults KEYWARD_FAULT_DOWN_FILE="$work/b-down" "$@"; }
expect_status 3 "a set whose second token is still empty is refused" -- \
  set_cmd "$kw" encrypt --token "$a_faulty" --token "$b_faulty" --kek payments "$work/plain" "$work/enc.set"
expect_grep "refusing the token set" "$work/last.err" "the refusal says why"
expect_grep "fb-faults" "$work/last.err" "and names the token"
expect_status 0 "scripts/add-token.sh: recover the root from 2 of 3 shares, replicate the KEKs, verify the set" -- \
  "$KEYWARD_SOURCE_DIR/scripts/add-token.sh" --bin "$bin" --from "$plain_uri" --to "$b_plain" --transcript "$work/b.jsonl" \
  $(ls "$work"/shares/* | head -2)
expect_grep "^copied keyward/kek/payments/v1" "$work/last.out" "v1 was copied"
expect_grep "all keyward objects conform" "$work/last.out" "the set verifies"
expect_status 0 "replicate again copies nothing and succeeds" -- \
  "$ceremony" replicate --from "$plain_uri" --to "$b_plain" --transcript "$work/b.jsonl"
expect_status 0 "KEYWARD_TOKEN with both URIs (whitespace-separated) opens the set" -- \
  env KEYWARD_TOKEN="$plain_uri $b_plain" "$ceremony" kek list
touch "$work/b-down"
rm -f "$work/enc.set"
expect_status 0 "encrypt with token b pulled: token a serves" -- \
  set_cmd "$kw" encrypt --token "$a_faulty" --token "$b_faulty" --kek payments "$work/plain" "$work/enc.set"
expect_grep "warning: .*fb-faults.* is out of service \(not reachable at start-up" "$work/last.err" \
  "the tool warns that token b is out, naming it and why"
expect_status 0 "decrypt with token b pulled" -- \
  set_cmd "$kw" decrypt --token "$a_faulty" --token "$b_faulty" "$work/enc.set" "$work/dec.set"
cmp -s "$work/plain" "$work/dec.set" && pass "the bytes are intact" || flunk "decrypted bytes differ"
versions_before=$("$ceremony" kek list | grep -c payments)
expect_status 3 "kek create with token b out is refused (a version must reach every token)" -- \
  set_cmd "$ceremony" kek create payments --token "$a_faulty" --token "$b_faulty" --transcript "$work/t.jsonl"
expect_grep "out of service" "$work/last.err" "the refusal names the token out of service"
[ "$("$ceremony" kek list | grep -c payments)" = "$versions_before" ] && pass "no version was created on token a" \
  || flunk "a version was created on token a alone"
expect_status 0 "start a rotation on the set (both tokens up)" -- \
  "$rotate" start --kek payments --token "$plain_uri" --token "$b_plain"
expect_status 0 "rotation run with token b pulled: workers fail over to token a" -- \
  set_cmd "$rotate" run --workers 2 --token "$a_faulty" --token "$b_faulty"
rm -f "$work/b-down"
expect_status 0 "every DEK under the new version with its key unchanged" -- \
  "$seed" verify --catalog "$KEYWARD_CATALOG" --kek payments --manifest "$work/manifest" --version "$("$ceremony" kek list | grep -c payments)"
token_in_conf fc-faults
c_plain="pkcs11:token=fc-faults?module-path=$softhsm&pin-source=file:$work/tok/user.pin"
"$ceremony" init --token "$c_plain" --transcript "$work/c.jsonl" >/dev/null
expect_status 3 "a token with another root is refused" -- "$kw" encrypt --token "$plain_uri" --token "$c_plain" --kek payments "$work/plain" "$work/enc.c"
expect_grep "the roots differ" "$work/last.err" "the message says the roots differ"
[ "$(injected)" -gt 0 ] && pass "faults were injected ($(injected) in all)" || flunk "no fault injected"
finish
