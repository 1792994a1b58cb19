#!/usr/bin/env bash
# The audit log end to end: a scripted session (ceremony, KEKs, envelopes, fields, a rotation with
# retire and shred, refused decrypts, a failed login) through the tools, then `keyward audit verify`
# passes, `show` reports each kind of event, `alerts` counts the refusals, and a tampered copy fails.
. "$(dirname "$0")/lib.sh"
kw="$bin/keyward"; rotate="$bin/keyward-rotate"; ceremony="$bin/keyward-ceremony"
new_token_dir tok keyward-audit
export KEYWARD_CATALOG="$work/catalog.db"
unset KEYWARD_AUDIT
log="$work/keyward-audit.jsonl"  # the default: beside the catalog

expect_status 0 "ceremony init" -- "$ceremony" init --transcript "$work/t.jsonl"
expect_status 0 "kek create payments" -- "$ceremony" kek create payments --transcript "$work/t.jsonl"
expect_status 0 "kek create tenant1" -- "$ceremony" kek create tenant1 --transcript "$work/t.jsonl"
expect_status 0 "policy verify" -- "$ceremony" verify
[ -s "$log" ] && pass "the log is beside the catalog by default" || flunk "no audit log at $log"

head -c 5000 /dev/urandom > "$work/plain"
expect_status 0 "envelope encrypt" -- "$kw" encrypt --kek payments "$work/plain" "$work/f.kw"
expect_status 0 "envelope decrypt" -- "$kw" decrypt "$work/f.kw" "$work/f.out"
cp "$work/f.kw" "$work/bad.kw"
printf '\x01' | dd of="$work/bad.kw" bs=1 seek=4000 conv=notrunc status=none
expect_status 1 "a tampered envelope is refused" -- "$kw" decrypt "$work/bad.kw" "$work/bad.out"

printf 'alice@example.com\nbob@example.com\n' > "$work/values"
expect_status 0 "field encrypt" -- sh -c "'$kw' field encrypt --scope s1 --kek tenant1 < '$work/values' > '$work/enc'"
expect_status 0 "field decrypt" -- sh -c "'$kw' field decrypt --scope s1 < '$work/enc' > /dev/null"
for i in 1 2 3; do
  expect_status 1 "a value of another scope is refused ($i)" -- sh -c "'$kw' field decrypt --scope s2 < '$work/enc' > /dev/null"
done

expect_status 0 "rotation start" -- "$rotate" start --kek tenant1
expect_status 0 "rotation run" -- "$rotate" run --workers 2
expect_status 0 "retire tenant1 v1" -- "$rotate" retire --kek tenant1 --version 1 --escrow "$work/v1.escrow"
expect_status 0 "shred s1" -- "$rotate" shred --scope s1
expect_status 1 "a value of a shredded scope is refused" -- sh -c "'$kw' field decrypt --scope s1 < '$work/enc' > /dev/null"

printf 'wrong-pin' > "$work/wrong.pin"; chmod 600 "$work/wrong.pin"
wrong_uri=$(sed -E "s#pin-source=file:[^&]*#pin-source=file:$work/wrong.pin#" <<<"$KEYWARD_TOKEN")
expect_status 3 "a wrong PIN fails" -- env KEYWARD_TOKEN="$wrong_uri" "$kw" encrypt --kek payments "$work/plain" "$work/g.kw"

expect_status 0 "audit verify: intact" -- "$kw" audit verify
expect_grep "intact" "$work/last.out" "verify says intact"
expect_grep "reaches the token's head" "$work/last.out" "verify checked the token's head"
expect_status 0 "audit verify --audit PATH" -- "$kw" audit --audit "$log" verify

show_has() {  # show_has OP [OUTCOME]: show --op OP lists at least one record (with that outcome)
  expect_status 0 "show --op $1" -- "$kw" audit show --op "$1" --json
  if [ -n "${2:-}" ]; then expect_grep "\"outcome\":\"$2\"" "$work/last.out" "show reports $1 $2"
  else expect_grep "\"op\":\"$1" "$work/last.out" "show reports $1"; fi
}
show_has root.create
show_has kek.create
show_has kek.export
show_has policy.verify
show_has ceremony. 
show_has dek.generate
show_has dek.unwrap
show_has dek.use
show_has dek.rewrap-batch
show_has kek.retire
show_has kek.destroy
show_has scope.shred
show_has envelope.decrypt refused
show_has field.decrypt refused
show_has token.login failed
expect_status 0 "show --scope s1" -- "$kw" audit show --scope s1
expect_grep "scope.shred" "$work/last.out" "show filters by scope"
expect_status 0 "show --since in the future" -- "$kw" audit show --since 2999-01-01T00:00:00Z
[ ! -s "$work/last.out" ] && pass "nothing after the time range" || flunk "records outside the time range"
expect_status 0 "show checkpoints" -- "$kw" audit show --json
expect_grep '"type":"checkpoint"' "$work/last.out" "checkpoints are in the log"
# The whole values and the PIN, as written (a case-blind 'bob' also matches base64 signatures by chance).
if grep -qF -e 'alice@example.com' -e 'bob@example.com' -e 'wrong-pin' "$log"; then flunk "a value or PIN is in the log"
else pass "no value or PIN in the log"; fi

expect_status 1 "alerts: refusals at the threshold" -- "$kw" audit alerts --threshold 3
expect_grep "ALERT" "$work/last.out" "alerts names the refusals"
expect_status 0 "alerts: none above a high threshold" -- "$kw" audit alerts --threshold 1000

cp "$log" "$work/tampered.jsonl"
sed -i '0,/"outcome":"ok"/s//"outcome":"no"/' "$work/tampered.jsonl"
expect_status 1 "a tampered copy fails verify" -- "$kw" audit --audit "$work/tampered.jsonl" verify
expect_grep "edited" "$work/last.err" "verify names the edit"
head -n 3 "$log" > "$work/cut.jsonl"
expect_status 1 "a log cut after a checkpoint fails verify" -- "$kw" audit --audit "$work/cut.jsonl" verify
expect_grep "truncated" "$work/last.err" "verify names the truncation"
finish
