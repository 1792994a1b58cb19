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
# ---- Issue 9: hangs, mutations, files, exit codes, secrets (every hang check under `timeout 20`). ----
refused() {  # refused DESCRIPTION PATTERN ENVELOPE [decrypt options...]: exit 1 in bounded time, nothing left
  local what=$1 pattern=$2 envelope=$3; shift 3
  rm -f "$work/bad-out"
  expect_status 1 "$what is refused (watchdog 20 s)" -- timeout 20 "$kw" decrypt "$@" "$envelope" "$work/bad-out"
  [ -z "$pattern" ] || expect_grep "$pattern" "$work/last.err" "$what: the message names the cause"
  [ ! -e "$work/bad-out" ] && pass "$what: no output file" || flunk "$what: an output file was left"
  ls "$work"/bad-out.keyward-tmp-* >/dev/null 2>&1 && flunk "$what: a temporary file was left" || true
}
ctx=(--context tenant=acme --context table=users)
body=$("$kw" inspect "$work/env" | sed -n 's/.*"header_bytes": \([0-9]*\).*/\1/p')
H=$((body - 257)); slot=$((H + 1))
: > "$work/zero"
refused "an empty envelope" "truncated" "$work/zero"
refused "/dev/null as the envelope" "truncated" /dev/null
expect_status 1 "inspect of an empty file ends (watchdog 20 s)" -- timeout 20 "$kw" inspect "$work/zero"
expect_grep "truncated" "$work/last.err" "inspect of an empty file says truncated"
for n in 1 4 5 6 102 103 104 $H $((H + 1)) $((body - 1)) $body $((body + 15)) $((body + 65552)); do
  head -c "$n" "$work/env" > "$work/cut"
  refused "a cut at byte $n" "truncated|failed authentication" "$work/cut" "${ctx[@]}"
done
# A sample of single-byte flips over the prefix and the body (the full sweep is EnvelopeMutation.*).
flip() {  # flip FILE OFFSET MASK
  local b; b=$(xxd -s "$2" -l 1 -p "$1")
  printf '%02x' $((0x$b ^ $3)) | xxd -r -p | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
for at in 0 5 6 7 8 12 30 64 99 103 110 $H $((slot + 1)) $((slot + 5)) $((slot + 20)) $((slot + 119)) $((slot + 125)) \
          $body $((body + 70000)) $(( $(stat -c %s "$work/env") - 1 )); do
  cp "$work/env" "$work/flipped"; flip "$work/flipped" "$at" 1
  refused "a flipped byte at $at" "" "$work/flipped" "${ctx[@]}"
done
# The wrapped DEK altered and the slot checksum recomputed (as an attacker who knows the format
# would): the token's integrity check refuses it, an authentication failure (1), not a token error (3).
cp "$work/env" "$work/rewrapped"; flip "$work/rewrapped" $((slot + 2 + 8 + 4 + 1 + 3)) 1
dd if="$work/rewrapped" bs=1 skip="$slot" count=120 status=none | sha256sum | cut -c1-16 | xxd -r -p \
  | dd of="$work/rewrapped" bs=1 seek=$((slot + 120)) conv=notrunc status=none
expect_status 0 "the re-checksummed slot parses" -- "$kw" inspect "$work/rewrapped"
refused "a tampered wrapped DEK with a recomputed checksum" "integrity check" "$work/rewrapped" "${ctx[@]}"

# Files: never overwrite unless --force, never replace a device, FIFO or link, nothing left on a kill.
cp "$work/env" "$work/env.copy"
expect_status 2 "encrypt refuses an existing OUT" -- "$kw" encrypt --kek payments "$work/plain" "$work/env"
expect_grep "already exists.*--force" "$work/last.err" "the refusal names --force"
cmp -s "$work/env" "$work/env.copy" && pass "the existing OUT is unchanged" || flunk "the existing OUT changed"
expect_status 2 "decrypt refuses an existing OUT" -- "$kw" decrypt "${ctx[@]}" "$work/env" "$work/env.copy"
expect_status 0 "decrypt --force replaces it" -- "$kw" decrypt --force "${ctx[@]}" "$work/env" "$work/env.copy"
cmp -s "$work/env.copy" "$work/plain" && pass "--force wrote the plaintext" || flunk "--force output differs"
expect_status 0 "encrypt --force replaces an existing OUT" -- "$kw" encrypt --force --kek payments "$work/empty" "$work/env.copy"
expect_status 0 "decrypt to /dev/null" -- "$kw" decrypt "${ctx[@]}" "$work/env" /dev/null
[ -c /dev/null ] && pass "/dev/null is still a character device" || flunk "/dev/null was replaced"
mkfifo "$work/fifo"
cat "$work/fifo" > "$work/from-fifo" & reader=$!
expect_status 0 "decrypt into a FIFO" -- timeout 60 "$kw" decrypt "${ctx[@]}" "$work/env" "$work/fifo"
wait "$reader"
cmp -s "$work/from-fifo" "$work/plain" && pass "the FIFO's reader got the plaintext" || flunk "FIFO output differs"
[ -p "$work/fifo" ] && pass "the FIFO is still a FIFO" || flunk "the FIFO was replaced"
ln -s /proc/self/fd/1 "$work/stdout-link"
expect_status 0 "decrypt into a symlink to /proc/self/fd/1 (a pipe)" -- bash -c "'$kw' decrypt ${ctx[*]} '$work/env' \
  '$work/stdout-link' | cat > '$work/from-link'"
cmp -s "$work/from-link" "$work/plain" && pass "the link's target (stdout) got the plaintext" || flunk "stdout output differs"
[ -L "$work/stdout-link" ] && pass "the link is still a link" || flunk "the link was replaced"
killed() {  # killed SIGNAL encrypt|decrypt: caught with its output open, then signalled
  local sig=$1 op=$2 out="$work/killed-$1-$2" pid found=0
  rm -f "$work/slow"; mkfifo "$work/slow"
  if [ "$op" = decrypt ]; then "$kw" decrypt "${ctx[@]}" "$work/slow" "$out" 2>/dev/null & pid=$!
  else "$kw" encrypt --kek payments "$work/slow" "$out" 2>/dev/null & pid=$!; fi
  exec 3>"$work/slow"
  head -c 400000 "$work/env" >&3
  for _ in $(seq 200); do  # bounded wait until the output (an O_TMPFILE) is open
    if ls -l "/proc/$pid/fd" 2>/dev/null | grep -q -- "$work/#\|$out"; then found=1; break; fi
    sleep 0.1
  done
  kill "-$sig" "$pid"; exec 3>&-   # closing the FIFO too: a process that ignored the signal ends anyway
  wait "$pid" 2>/dev/null || true
  [ "$found" = 1 ] && pass "$op was caught with its output open" || flunk "$op never opened its output"
  ls "$out"* >/dev/null 2>&1 && flunk "$op killed by SIG$sig left $(ls "$out"*)" || pass "$op killed by SIG$sig left nothing"
}
# (SIGINT: a background job of a script ignores it; OutputFile.SignalledDecryptionRemovesTheNamedTemporary covers it.)
killed KILL decrypt; killed TERM decrypt; killed KILL encrypt; killed TERM encrypt

# Exit codes of infrastructure failures, and PINs given by mistake are never echoed.
uri_rest=${KEYWARD_TOKEN#*\?}
KEYWARD_TOKEN="pkcs11:token=keyward-cli?module-path=/nonexistent/libnone.so&${uri_rest#*&}" \
  expect_status 3 "an unloadable module is an infrastructure error" -- "$kw" decrypt "$work/env" "$work/bad-out"
KEYWARD_TOKEN="pkcs11:token=no-such-token?$uri_rest" \
  expect_status 3 "a URI that names no token is an infrastructure error" -- "$kw" decrypt "$work/env" "$work/bad-out"
expect_status 2 "a PIN given as pin-source is refused" -- "$kw" decrypt \
  --token "pkcs11:token=keyward-cli?pin-source=Mistaken7Pin" "$work/env" "$work/bad-out"
grep -q Mistaken7Pin "$work/last.err" && flunk "the mistaken PIN was echoed" || pass "the mistaken PIN is not echoed"
expect_status 3 "a PIN given as pin-source, token not found" -- "$kw" decrypt \
  --token "pkcs11:token=no-such-token?pin-source=Mistaken7Pin" "$work/env" "$work/bad-out"
grep -q Mistaken7Pin "$work/last.err" && flunk "the mistaken PIN was echoed (no token)" || pass "the mistaken PIN is not echoed (no token)"

# A tampered catalog row (the wrapped DEK of the field values above): authentication failure (1).
row=$(sqlite3 "$cat" "SELECT hex(dek_id), hex(wrapped) FROM deks LIMIT 1")
id=${row%|*}; wrapped=${row#*|}
tampered=$(printf '%x' $(( 0x${wrapped:0:1} ^ 1 )))${wrapped:1}
sqlite3 "$cat" "UPDATE deks SET wrapped = X'$tampered' WHERE dek_id = X'$id'"
expect_status 1 "field decrypt with a tampered catalog row is an authentication failure" -- bash -c "'$kw' field decrypt \
  --catalog '$cat' --context table=users --context column=email --context row=7 < '$work/rand'"
expect_grep "integrity check" "$work/last.err" "the tampered row: the message says the wrapped key failed its integrity check"
finish
