#!/usr/bin/env bash
# Rotation shared by processes through a PostgreSQL catalog: three concurrent `keyward-rotate run`s
# claim disjoint batches (each DEK rewrapped exactly once, counted in the database), 20 SIGKILLs of
# runs mid-flight lose nothing, status shows each run's host, retire sees the fleet's progress, and an
# unreachable database is exit 3 with the database named and nothing written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
rotate="$bin/keyward-rotate"; seed="$bin/keyward-test-seed"
cd "$work"  # a PostgreSQL catalog's rotation blobs land in the working directory
new_token_dir tok keyward-pg-rotation
export KEYWARD_CATALOG=$(new_pg_catalog rotation)
"$bin/keyward-ceremony" init --transcript "$work/t.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create payments --transcript "$work/t.jsonl" >/dev/null

n=3000
expect_status 0 "seed $n catalog DEKs into PostgreSQL" -- "$seed" seed --catalog "$KEYWARD_CATALOG" --kek payments --count $n \
  --distinct 50 --manifest "$work/manifest"
# Every change of a DEK's KEK version, logged by the database itself (test-only trigger): the count
# per DEK and version step is the database's, not keyward's.
pg_sql "$KEYWARD_CATALOG" "CREATE TABLE rewrap_log (dek_id BYTEA, from_version BIGINT, to_version BIGINT);
  CREATE FUNCTION log_rewrap() RETURNS trigger LANGUAGE plpgsql AS
    \$\$ BEGIN INSERT INTO rewrap_log VALUES (OLD.dek_id, OLD.kek_version, NEW.kek_version); RETURN NEW; END \$\$;
  CREATE TRIGGER log_rewrap AFTER UPDATE OF kek_version ON deks FOR EACH ROW
    WHEN (OLD.kek_version IS DISTINCT FROM NEW.kek_version) EXECUTE FUNCTION log_rewrap();" >/dev/null

expect_status 0 "start a rotation to v2" -- "$rotate" start --kek payments
# Three processes at once, as three hosts would: small batches so that they interleave.
for i in 1 2 3; do "$rotate" run --batch 25 >"$work/run$i.out" 2>"$work/run$i.err" & pids[$i]=$!; done
ok=0
for i in 1 2 3; do wait "${pids[$i]}" && ok=$((ok + 1)) || sed 's/^/     | /' "$work/run$i.err"; done
[ "$ok" = 3 ] && pass "3 concurrent runs all exit 0" || flunk "$((3 - ok)) of 3 concurrent runs failed"
expect_grep "rotation complete" "$work/run1.err" "each run reports the rotation complete"
counts=$(pg_sql "$KEYWARD_CATALOG" "SELECT COUNT(*), COUNT(DISTINCT dek_id), COUNT(*) FILTER (WHERE to_version = 2)
  FROM rewrap_log WHERE from_version = 1")
[ "$counts" = "$n|$n|$n" ] && pass "the database logged each of the $n DEKs rewrapped exactly once, v1 → v2" ||
  flunk "rewrap log (rows|distinct DEKs|to v2) is $counts, wanted $n|$n|$n"
runs=$(pg_sql "$KEYWARD_CATALOG" "SELECT COUNT(*), SUM(deks_rewrapped), SUM(rewraps_already_done), COUNT(DISTINCT host),
  COUNT(*) FILTER (WHERE deks_rewrapped > 0) FROM rotation_runs WHERE target_version = 2")
IFS='|' read -r run_count rewrapped wasted hosts active <<<"$runs"
[ "$run_count" = 3 ] && [ "$rewrapped" = "$n" ] && pass "3 runs recorded; their batch commits sum to $n" ||
  flunk "runs|rewrapped = $run_count|$rewrapped, wanted 3|$n"
[ "$wasted" = 0 ] && pass "batches were disjoint: no DEK was rewrapped in the token by two processes" ||
  flunk "$wasted rewraps were done twice"
[ "$hosts" = 3 ] && pass "each run recorded its own host:pid" || flunk "$hosts distinct hosts"
echo "     (runs that did work: $active of 3; $(pg_sql "$KEYWARD_CATALOG" "SELECT string_agg(deks_rewrapped::text, ' + ') FROM rotation_runs WHERE target_version = 2") DEKs)"
expect_status 0 "every catalog DEK unwraps to the same key, under v2" -- "$seed" verify --catalog "$KEYWARD_CATALOG" \
  --kek payments --manifest "$work/manifest" --version 2
expect_status 0 "status" -- "$rotate" status
expect_grep "run [0-9]+ to v2 on [^ ]+:[0-9]+: complete; rewrapped [0-9]+ catalog DEK" "$work/last.out" "status shows each run's host and share"
expect_status 0 "retire v1 sees the fleet's complete runs" -- "$rotate" retire --kek payments --version 1

# 20 SIGKILLs of runs (two worker processes each) mid-flight; after each, the next run takes over.
# SoftHSM rewrites token.object on login: a kill in that window damages the module's file, which the
# harness restores (as rotation_test.sh does); keyward's state, the database, is never touched.
token_object=$(find "$work/tok/tokens" -name token.object)
cp -p "$token_object" "$work/token.object.copy"
version=2; kills=0; attempts=0
while [ "$kills" -lt 20 ] && [ "$attempts" -lt 60 ]; do
  attempts=$((attempts + 1))
  if "$rotate" status --json | grep -q '"rotation_in_progress": false'; then
    "$rotate" start --kek payments >/dev/null; version=$((version + 1))
  fi
  setsid "$rotate" run --workers 2 --batch 20 >/dev/null 2>&1 &
  pid=$!
  sleep "0.$(( RANDOM % 5 ))$(( RANDOM % 10 ))"
  if kill -9 -- "-$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  if [ "$(stat -c %s "$token_object")" != "$(stat -c %s "$work/token.object.copy")" ]; then
    cp -p "$work/token.object.copy" "$token_object"; fi
done
[ "$kills" -ge 20 ] && pass "$kills runs killed mid-flight (SIGKILL, workers included), $attempts attempts, up to v$version" ||
  flunk "only $kills kills landed"
expect_status 0 "a final run finishes the rotation" -- "$rotate" run --workers 2
expect_status 0 "every DEK is under v$version and unwraps to the same key" -- "$seed" verify --catalog "$KEYWARD_CATALOG" \
  --kek payments --manifest "$work/manifest" --version "$version"
once=$(pg_sql "$KEYWARD_CATALOG" "SELECT COUNT(*) FROM (SELECT 1 FROM rewrap_log GROUP BY dek_id, to_version HAVING COUNT(*) > 1) twice")
[ "$once" = 0 ] && pass "no DEK was rewrapped twice in any version step despite the kills" || flunk "$once (DEK, version) rewrapped twice"
wasted=$(pg_sql "$KEYWARD_CATALOG" "SELECT SUM(rewraps_already_done) FROM rotation_runs")
[ "$wasted" = 0 ] && pass "no committed batch overlapped another" || flunk "$wasted rewraps overlapped"

# Retire, fleet-wide: two hosts each rotate the paths they hold (here two directories); retire needs
# every path's newest run to be complete, whichever host ran it.
mkdir -p "$work/host-a" "$work/host-b"
"$rotate" start --kek payments >/dev/null; version=$((version + 1))
"$rotate" run "$work/host-a" >/dev/null 2>&1 & a_pid=$!
"$rotate" run "$work/host-b" >/dev/null 2>&1 & b_pid=$!
wait "$a_pid" && wait "$b_pid" && pass "host A and host B each ran over their own path" || flunk "a host's run failed"
expect_status 0 "retire v$((version - 1)) once both hosts' runs completed" -- "$rotate" retire --kek payments --version $((version - 1))
"$rotate" start --kek payments >/dev/null; version=$((version + 1))
printf 'KWENV-but-damaged' >"$work/host-b/damaged.kw"
expect_status 1 "host B's run meets a damaged envelope: incomplete" -- "$rotate" run "$work/host-b"
expect_status 0 "host A's later run completes over its path (the newest run is complete)" -- "$rotate" run "$work/host-a"
expect_status 1 "retire is refused while host B's path is not covered by a complete run" -- \
  "$rotate" retire --kek payments --version $((version - 1))
expect_grep "did not complete: $work/host-b" "$work/last.err" "the refusal names host B's path"
mv "$work/host-b/damaged.kw" "$work/"
expect_status 0 "host B reruns after the repair and completes" -- "$rotate" run "$work/host-b"
expect_status 0 "then retire is allowed" -- "$rotate" retire --kek payments --version $((version - 1))

# The database unreachable: exit 3, the database named, no password anywhere, nothing written.
down="postgresql://keyward@/catalog?host=$work/no-server&connect_timeout=2"
expect_status 3 "status against an unreachable database is exit 3" -- "$rotate" status --catalog "$down"
expect_grep "database error: catalog postgresql://keyward@/catalog\?host=$work/no-server .*unreachable" "$work/last.err" \
  "the message names the database and says it is unreachable"
keks_before=$("$bin/keyward-ceremony" kek list 2>/dev/null | grep -c payments || true)
expect_status 3 "start against an unreachable database is exit 3" -- "$rotate" start --kek payments --catalog "$down"
keks_after=$("$bin/keyward-ceremony" kek list 2>/dev/null | grep -c payments || true)
[ "$keks_before" = "$keks_after" ] && pass "no KEK version was created on the token" || flunk "KEKs $keks_before → $keks_after"
[ -z "$(ls "$work"/*no-server* 2>/dev/null)" ] && pass "no blob or file written for the unreachable catalog" || flunk "files written"
expect_status 2 "a password in --catalog is refused" -- "$rotate" status --catalog "postgresql://app:hunter2@/catalog?host=$pg_dir"
if grep -q hunter2 "$work/last.err"; then flunk "the refusal repeats the password"; else pass "the refusal does not repeat the password"; fi
KEYWARD_CATALOG="postgresql://app:hunter2@/x?host=$pg_dir" expect_status 2 "a password in KEYWARD_CATALOG is refused too" -- \
  "$rotate" status
finish
