#!/usr/bin/env bash
# keyward field encrypt|decrypt through the CLI (issue 9): the maximum value size, output kept up
# to a failing line, scope checks, and a read-only catalog.
. "$(dirname "$0")/lib.sh"
kw="$bin/keyward"
new_token_dir tok keyward-field
"$bin/keyward-ceremony" init --transcript "$work/t.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create payments --transcript "$work/t.jsonl" >/dev/null
mkdir "$work/cat"
export KEYWARD_CATALOG="$work/cat/catalog.db"
max=65536

# --- the maximum value size -------------------------------------------------------------------
head -c $max /dev/zero | tr '\0' 'm' > "$work/max"; echo >> "$work/max"
head -c $((max + 1)) /dev/zero | tr '\0' 'o' > "$work/over"; echo >> "$work/over"
head -c 600000 /dev/zero | tr '\0' 'h' > "$work/huge"; echo >> "$work/huge"
for suite in randomized deterministic; do
  expect_status 0 "a $max-byte value encrypts ($suite)" -- bash -c \
    "timeout 60 '$kw' field encrypt --scope tenant:a --kek payments --suite $suite < '$work/max' > '$work/max.$suite'"
  expect_status 0 "and decrypts ($suite)" -- bash -c "timeout 60 '$kw' field decrypt < '$work/max.$suite' | cmp - '$work/max'"
  expect_status 1 "a $((max + 1))-byte value is refused ($suite)" -- bash -c \
    "timeout 60 '$kw' field encrypt --scope tenant:a --kek payments --suite $suite < '$work/over'"
  expect_grep "at most $max bytes" "$work/last.err" "the refusal names the maximum ($suite)"
done
# What the old fixed 1 MiB secure heap could write but not read back (std::bad_alloc, abort).
expect_status 1 "a 600 kB value is refused at encrypt" -- bash -c \
  "timeout 60 '$kw' field encrypt --scope tenant:a --kek payments < '$work/huge'"
# A value text longer than any keyward writes is corrupt input at decrypt (exit 1, no abort).
{ printf 'AQ'; head -c 900000 /dev/zero | tr '\0' 'A'; echo; } > "$work/huge.value"
expect_status 1 "an over-long value text is refused at decrypt" -- bash -c "timeout 60 '$kw' field decrypt < '$work/huge.value'"
expect_grep "longer than any keyward writes" "$work/last.err" "the message says why"

# --- a failing line keeps the lines before it ------------------------------------------------
{ echo one; echo two; cat "$work/over"; echo four; } > "$work/lines"
expect_status 1 "encrypt fails on line 3" -- bash -c \
  "'$kw' field encrypt --scope tenant:a --kek payments < '$work/lines' > '$work/lines.values'"
expect_grep "line 3" "$work/last.err" "encrypt names the failing line"
[ "$(wc -l < "$work/lines.values")" = 2 ] && pass "encrypt: lines 1-2 are on stdout" || flunk "encrypt: $(wc -l < "$work/lines.values") lines on stdout"
{ cat "$work/lines.values"; echo 'not a value'; } > "$work/bad.values"
expect_status 1 "decrypt fails on line 3" -- bash -c "'$kw' field decrypt < '$work/bad.values' > '$work/bad.out'"
expect_grep "line 3" "$work/last.err" "decrypt names the failing line"
printf 'one\ntwo\n' | cmp -s - "$work/bad.out" && pass "decrypt: lines 1-2 are on stdout" || flunk "decrypt: lines 1-2 lost"
{ cat "$work/lines.values"; cat "$work/huge.value"; } > "$work/bad2.values"
expect_status 1 "decrypt fails on an over-long line 3" -- bash -c "timeout 60 '$kw' field decrypt < '$work/bad2.values' > '$work/bad2.out'"
printf 'one\ntwo\n' | cmp -s - "$work/bad2.out" && pass "decrypt: lines 1-2 are kept before an over-long line" \
  || flunk "decrypt: lines before an over-long line lost"

# --- scopes -----------------------------------------------------------------------------------
printf 'acme secret\n' > "$work/acme.plain"
printf 'globex secret\n' > "$work/globex.plain"
"$kw" field encrypt --scope tenant:acme --kek payments < "$work/acme.plain" > "$work/acme.value"
"$kw" field encrypt --scope tenant:globex --kek payments < "$work/globex.plain" > "$work/globex.value"
expect_status 0 "a value decrypts with its own --scope" -- bash -c \
  "'$kw' field decrypt --scope tenant:acme < '$work/acme.value' | cmp - '$work/acme.plain'"
# acme's value copied into globex's row, read as globex's.
expect_status 1 "a value copied to another scope is refused with --scope" -- bash -c \
  "'$kw' field decrypt --scope tenant:globex < '$work/acme.value'"
expect_grep "different scope" "$work/last.err" "the refusal says the scope differs"
if grep -q -e "tenant:acme" -e "acme secret" -e "$(cat "$work/acme.value")" "$work/last.err" "$work/last.out"; then
  flunk "the refusal names the value's scope, value or plaintext"
else pass "the refusal names neither the other scope, the value nor the plaintext"; fi
expect_status 1 "a mixed batch stops at the foreign value" -- bash -c \
  "cat '$work/globex.value' '$work/acme.value' | '$kw' field decrypt --scope tenant:globex > '$work/mixed.out'"
cmp -s "$work/globex.plain" "$work/mixed.out" && pass "the own value before it is kept" || flunk "the own value was lost"

# --- readers while another process creates KEK versions ----------------------------------------
printf 'reader value\n' > "$work/reader.plain"
"$kw" field encrypt --scope tenant:reader --kek payments < "$work/reader.plain" > "$work/reader.value"
( for n in 1 2 3 4 5 6; do
    "$bin/keyward-ceremony" kek create bystander --transcript "$work/t.jsonl" >/dev/null 2>&1
    "$bin/keyward-ceremony" kek create payments --transcript "$work/t.jsonl" >/dev/null 2>&1
  done; touch "$work/creator.done" ) &
creator=$!
reads=0; read_failures=0
while [ ! -e "$work/creator.done" ] || [ "$reads" -lt 20 ]; do
  reads=$((reads + 1))
  timeout 60 "$kw" field decrypt < "$work/reader.value" > "$work/reader.out" 2> "$work/reader.err" \
    && cmp -s "$work/reader.out" "$work/reader.plain" || { read_failures=$((read_failures + 1)); sed 's/^/     | /' "$work/reader.err"; }
  [ "$reads" -ge 400 ] && break
done
wait "$creator"
[ "$read_failures" = 0 ] && pass "$reads reads while 12 KEK versions were created: none failed" \
  || flunk "$read_failures of $reads reads failed while KEK versions were created"

# --- racing first encrypts of one new scope, from separate processes ---------------------------
pids=()
for n in 1 2 3 4 5 6; do
  (printf 'race %s\n' "$n" | timeout 60 "$kw" field encrypt --scope tenant:race --kek payments > "$work/race.$n" 2> "$work/race.$n.err") &
  pids+=($!)
done
race_failed=0
for pid in "${pids[@]}"; do wait "$pid" || race_failed=$((race_failed + 1)); done
[ "$race_failed" = 0 ] && pass "six racing first encrypts all succeed" || flunk "$race_failed racing first encrypts failed"
deks=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(\"SELECT COUNT(*) FROM deks WHERE scope='tenant:race'\").fetchone()[0])" "$KEYWARD_CATALOG")
[ "$deks" = 1 ] && pass "the scope has exactly one DEK" || flunk "the scope has $deks DEKs"
undecrypted=0
for n in 1 2 3 4 5 6; do
  printf 'race %s\n' "$n" | cmp -s - <("$kw" field decrypt --scope tenant:race < "$work/race.$n") || undecrypted=$((undecrypted + 1))
done
[ "$undecrypted" = 0 ] && pass "every racing value decrypts" || flunk "$undecrypted racing values do not decrypt"

# --- a read-only catalog ----------------------------------------------------------------------
# The catalog is read-only, the audit log is not (it must be writable: docs/AUDIT.md): keep it elsewhere.
export KEYWARD_AUDIT="$work/audit.jsonl"
"$kw" field encrypt --scope tenant:ro --kek payments < "$work/acme.plain" > "$work/ro.value"
# A read-only bind mount of the catalog's directory (EROFS, whatever our uid), in a private mount namespace.
if unshare -m true 2>/dev/null; then
  ro() { unshare -m bash -c "mount --bind '$work/cat' '$work/cat' && mount -o remount,bind,ro '$work/cat' && $1"; }
  expect_status 0 "decrypt works on a read-only mount" -- ro "'$kw' field decrypt < '$work/ro.value' | cmp - '$work/acme.plain'"
  expect_status 0 "encrypt under an existing scope DEK works on a read-only mount" -- ro \
    "'$kw' field encrypt --scope tenant:ro --kek payments < '$work/acme.plain' > '$work/ro2.value'"
  expect_status 0 "and its value decrypts" -- bash -c "'$kw' field decrypt < '$work/ro2.value' | cmp - '$work/acme.plain'"
  expect_status 1 "a new scope on a read-only mount is refused" -- ro \
    "'$kw' field encrypt --scope tenant:new --kek payments < '$work/acme.plain'"
  expect_grep "read-only" "$work/last.err" "the refusal says the catalog is read-only"
else
  echo "skip read-only mount checks: no mount namespaces here"
fi
# A catalog file and directory this process may not write (mode 0400 / 0500 as another user).
if setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
  chmod 0755 "$work" && chown -R 65534:65534 "$work/tok"  # the token stays usable by that user
  # Readable to the other user, not writable: the catalog and the -wal/-shm a writer left (SQLite
  # gives them the database file's mode when it creates them; readers need to read them).
  chmod 0444 "$KEYWARD_CATALOG"; chmod 0444 "$KEYWARD_CATALOG"-wal "$KEYWARD_CATALOG"-shm 2>/dev/null || true
  chmod 0555 "$work/cat"
  mkdir -p "$work/audit-other" && chown 65534:65534 "$work/audit-other"  # that user's own audit log
  as_other() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/ KEYWARD_AUDIT="$work/audit-other/audit.jsonl" bash -c "$1"; }
  expect_status 0 "decrypt works with a catalog that is read-only to us" -- as_other \
    "'$kw' field decrypt < '$work/ro.value' | cmp - '$work/acme.plain'"
  expect_status 1 "a new scope with a read-only catalog is refused" -- as_other \
    "'$kw' field encrypt --scope tenant:new2 --kek payments < '$work/acme.plain'"
  expect_grep "read-only" "$work/last.err" "the refusal says the catalog is read-only"
  chmod 0755 "$work/cat"; chmod 0600 "$KEYWARD_CATALOG"; chmod 0600 "$KEYWARD_CATALOG"-wal "$KEYWARD_CATALOG"-shm 2>/dev/null || true
else
  echo "skip another-user checks: setpriv cannot switch users here"
fi
expect_status 0 "the catalog still decrypts read-write afterwards" -- bash -c \
  "'$kw' field decrypt < '$work/ro.value' | cmp - '$work/acme.plain'"
finish
