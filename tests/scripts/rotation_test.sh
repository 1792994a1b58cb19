#!/usr/bin/env bash
# keyward-rotate end to end: 10 000 catalog DEKs and 200 envelope files rotated in the token (bodies
# untouched), retire refused then allowed, 20 SIGKILLs of run with zero loss, readers during a
# rotation with zero failures, and crypto-shredding.
. "$(dirname "$0")/lib.sh"
kw="$bin/keyward"; rotate="$bin/keyward-rotate"; seed="$bin/keyward-test-seed"
new_token_dir tok keyward-rotation
export KEYWARD_CATALOG="$work/catalog.db"
"$bin/keyward-ceremony" init --transcript "$work/t.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create payments --transcript "$work/t.jsonl" >/dev/null

expect_status 0 "seed 10000 catalog DEKs" -- "$seed" seed --catalog "$KEYWARD_CATALOG" --kek payments --count 10000 \
  --manifest "$work/manifest"
mkdir -p "$work/files/a/b"
for i in $(seq 1 200); do
  head -c $((i * 97 + (i % 3) * 70000)) /dev/urandom > "$work/plain.$i"
  sub=$([ $((i % 2)) = 0 ] && echo a || echo a/b)
  "$kw" encrypt --kek payments --segment-size 16384 "$work/plain.$i" "$work/files/$sub/f$i.kw" 2>/dev/null
done
for i in $(seq 1 200); do echo "$(find "$work/files" -name "f$i.kw") $work/plain.$i"; done > "$work/map"
"$seed" files --map "$work/map" --bodies "$work/bodies.before" >/dev/null
[ "$(wc -l < "$work/bodies.before")" = 200 ] && pass "200 envelope files made" || flunk "envelope files missing"

expect_status 0 "start a rotation" -- "$rotate" start --kek payments
expect_status 1 "retire v1 is refused while DEKs reference it" -- "$rotate" retire --kek payments --version 1
expect_grep "still reference" "$work/last.err" "the refusal says why"
expect_status 0 "run with 2 workers over the catalog and 200 files" -- "$rotate" run --workers 2 "$work/files"
expect_status 0 "every catalog DEK unwraps to the same key, under v2" -- "$seed" verify --catalog "$KEYWARD_CATALOG" \
  --kek payments --manifest "$work/manifest" --version 2
expect_status 0 "every file decrypts and is under v2" -- "$seed" files --map "$work/map" --version 2 --bodies "$work/bodies.after"
cmp -s "$work/bodies.before" "$work/bodies.after" && pass "no envelope body changed (hash before = after)" || flunk "a body changed"
expect_status 0 "status" -- "$rotate" status --json
expect_grep '"2": 10000' "$work/last.out" "status counts 10000 DEKs under v2"
expect_status 0 "retire v1 after the rotation (escrowed)" -- "$rotate" retire --kek payments --version 1 --escrow "$work/v1.escrow"
[ -s "$work/v1.escrow" ] && pass "escrow blob written" || flunk "no escrow blob"
expect_status 2 "retiring the newest version is refused" -- "$rotate" retire --kek payments --version 2
expect_status 0 "everything still decrypts after retire" -- "$seed" files --map "$work/map" --version 2

# Kill run with SIGKILL at random moments until 20 kills landed mid-flight, rerunning each time; when a run got to finish,
# the next rotation starts, so that every kill lands on work in progress. Then finish and check.
# SoftHSM 2.6.1 rewrites token.object (truncate, then write) on every C_Login: a SIGKILL in that window leaves it
# empty and the token gone. That is the module's defect, not keyward's, so the harness keeps a copy and puts it back
# when a kill landed there, and says how often (keyward's own state, catalog and files, is never touched).
token_object=$(find "$work/tok/tokens" -name token.object)
cp -p "$token_object" "$work/token.object.copy"
version=2; kills=0; attempts=0; module_damage=0
while [ "$kills" -lt 20 ] && [ "$attempts" -lt 60 ]; do
  attempts=$((attempts + 1))
  if "$rotate" status --json | grep -q '"rotation_in_progress": false'; then
    "$rotate" start --kek payments >/dev/null; version=$((version + 1))
  fi
  # In its own process group, so that the kill takes the workers too and none runs on into the next attempt.
  setsid "$rotate" run --workers 2 --batch 250 "$work/files" >/dev/null 2>&1 &
  pid=$!
  sleep "0.$(( RANDOM % 6 ))$(( RANDOM % 10 ))"
  if kill -9 -- "-$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  if [ "$(stat -c %s "$token_object")" != "$(stat -c %s "$work/token.object.copy")" ]; then
    cp -p "$work/token.object.copy" "$token_object"; module_damage=$((module_damage + 1)); fi
done
echo "     ($kills of $attempts runs killed mid-flight, over rotations up to v$version;" \
  "$module_damage kill(s) landed in SoftHSM's login write to token.object, which the harness restored)"
[ "$kills" -ge 20 ] && pass "20 runs killed with SIGKILL mid-flight" || flunk "only $kills runs killed mid-flight"
expect_status 0 "the rerun after the kills completes" -- "$rotate" run --workers 2 "$work/files"
expect_status 0 "zero catalog DEKs lost after 20 SIGKILLs" -- "$seed" verify --catalog "$KEYWARD_CATALOG" --kek payments \
  --manifest "$work/manifest" --version "$version"
expect_status 0 "zero files lost after 20 SIGKILLs" -- "$seed" files --map "$work/map" --version "$version"

# Readers during a rotation see zero failures.
expect_status 0 "start another rotation" -- "$rotate" start --kek payments
version=$((version + 1))
"$rotate" run --workers 2 --batch 200 "$work/files" >"$work/readers-run.log" 2>&1 &
rotation_pid=$!
reads=0; read_failures=0; reads_while_running=0
while kill -0 "$rotation_pid" 2>/dev/null || [ "$reads" -lt 50 ]; do
  if kill -0 "$rotation_pid" 2>/dev/null; then reads_while_running=$((reads_while_running + 1)); fi
  i=$(( (RANDOM % 200) + 1 )); f=$(find "$work/files" -name "f$i.kw")
  if "$kw" decrypt --force "$f" "$work/reader.out" 2>"$work/reader.err" && cmp -s "$work/reader.out" "$work/plain.$i"; then :; else
    read_failures=$((read_failures + 1)); sed "s#^#     | f$i: #" "$work/reader.err"; fi
  reads=$((reads + 1))
  [ "$reads" -ge 150 ] && break
done
rc=0; wait "$rotation_pid" || rc=$?
if [ "$rc" = 0 ]; then pass "the rotation under readers completed"; else
  flunk "rotation under readers exited $rc"; sed 's/^/     | /' "$work/readers-run.log" | tail -20; fi
[ "$read_failures" = 0 ] && pass "$reads reads ($reads_while_running started while run was running), zero failures" ||
  flunk "$read_failures of $reads reads failed"
[ "$reads_while_running" -ge 5 ] && pass "the reads overlapped the rotation" ||
  flunk "only $reads_while_running reads started while run was running: the test did not exercise readers during a rotation"
expect_status 0 "catalog DEKs all decrypt after it" -- "$seed" verify --catalog "$KEYWARD_CATALOG" --kek payments \
  --manifest "$work/manifest" --version "$version"

# Crypto-shredding: a tenant with its own KEK family and field values.
"$bin/keyward-ceremony" kek create tenant-zeta --transcript "$work/t.jsonl" >/dev/null
printf 'secret of zeta\n' | "$kw" field encrypt --scope tenant:zeta --kek tenant-zeta > "$work/zeta.values"
printf 'zeta file\n' > "$work/zeta.plain"; "$kw" encrypt --kek tenant-zeta "$work/zeta.plain" "$work/zeta.kw" 2>/dev/null
expect_status 0 "field decrypt before the shred" -- bash -c "'$kw' field decrypt < '$work/zeta.values'"
expect_status 0 "shred tenant:zeta with its KEK" -- "$rotate" shred --scope tenant:zeta --kek tenant-zeta
expect_status 1 "a shredded field value no longer decrypts" -- bash -c "'$kw' field decrypt < '$work/zeta.values'"
expect_grep "shredded" "$work/last.err" "the error says 'shredded'"
expect_status 1 "an envelope under the shredded KEK no longer decrypts" -- "$kw" decrypt "$work/zeta.kw" "$work/zeta.out"
expect_status 1 "the shredded scope cannot get a new DEK" -- bash -c "printf 'x\n' | '$kw' field encrypt --scope tenant:zeta --kek payments"
expect_grep "shredded" "$work/last.err" "re-creation refused as shredded"
finish
