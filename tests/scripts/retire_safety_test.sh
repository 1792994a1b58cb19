#!/usr/bin/env bash
# Lost-data scenarios of a rotation (issue 9), each reproduced and showing zero values or files lost:
# start then retire; a run killed in its file phase, then retire, then rerun; damaged and empty files
# in the tree; the escrow file under umask 000; shred with another process holding the catalog open.
. "$(dirname "$0")/lib.sh"
kw="$bin/keyward"; rotate="$bin/keyward-rotate"; seed="$bin/keyward-test-seed"
new_token_dir tok keyward-retire
export KEYWARD_CATALOG="$work/catalog.db"
db="$KEYWARD_CATALOG"
"$bin/keyward-ceremony" init --transcript "$work/t.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create payments --transcript "$work/t.jsonl" >/dev/null
sql() { sqlite3 -cmd ".timeout 30000" "$db" "$@"; }
# the newest run's row count in run_files (its per-file progress)
recorded_files() { sql "SELECT COUNT(*) FROM run_files WHERE run_id = (SELECT MAX(run_id) FROM rotation_runs)" 2>/dev/null || echo 0; }
in_token() { "$rotate" status --json | tr -d ' \n' | grep -q "\"token_versions\":\[[0-9,]*\b$1\b"; }

mkdir -p "$work/files/a" "$work/files/b"
n=200
for i in $(seq 1 $n); do
  head -c $((i * 13 + 1)) /dev/urandom > "$work/plain.$i"
  "$kw" encrypt --kek payments --segment-size 4096 "$work/plain.$i" "$work/files/$([ $((i % 2)) = 0 ] && echo a || echo b)/f$i.kw" 2>/dev/null
done
for i in $(seq 1 $n); do echo "$(find "$work/files" -name "f$i.kw") $work/plain.$i"; done > "$work/map"
printf 'not an envelope\n' > "$work/files/README.txt"
: > "$work/files/a/empty"
expect_status 0 "$n envelope files decrypt under v1" -- "$seed" files --map "$work/map" --version 1

# (d) start, then retire at once: refused, nothing lost.
expect_status 0 "start the rotation to v2" -- bash -c 'umask 000; exec "$0" start --kek payments' "$rotate"
[ "$(stat -c %a "$db.payments-v2.kekblob")" = 600 ] && pass "start's backup blob is mode 0600 under umask 000" \
  || flunk "start's backup blob mode: $(stat -c %a "$db.payments-v2.kekblob" 2>&1)"
expect_status 1 "(d) retire v1 right after start is refused" -- "$rotate" retire --kek payments --version 1
expect_grep "no keyward-rotate run has been made since v1" "$work/last.err" "the refusal says no run has been made"
expect_grep "i-accept-data-loss" "$work/last.err" "the refusal names the override and what it costs"
in_token 1 && pass "v1 is still on the token" || flunk "v1 was destroyed"
expect_status 0 "(d) zero files lost" -- "$seed" files --map "$work/map" --version 1
expect_status 0 "seed 500 catalog DEKs (under v2)" -- "$seed" seed --catalog "$db" --kek payments --count 500 --manifest "$work/manifest"

# (a) + (c) a run killed in its file phase (progress recorded per file as it happens), retire refused,
# every file still decrypts; the rerun completes and then retire is allowed.
killed=0
for attempt in 1 2 3 4 5; do
  before=$(sql "SELECT COALESCE(MAX(run_id), 0) FROM rotation_runs")
  setsid "$rotate" run "$work/files" >"$work/killed-run.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 3000); do  # watchdog: at most ~30 s of polling
    now=$(sql "SELECT COALESCE(MAX(run_id), 0) FROM rotation_runs" 2>/dev/null || echo "$before")
    [ "$now" != "$before" ] && [ "$(recorded_files)" -ge 10 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  kill -9 -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  got=$(recorded_files)
  if [ "$got" -ge 10 ] && [ "$got" -lt "$n" ] &&
     [ "$(sql "SELECT outcome FROM rotation_runs WHERE run_id = (SELECT MAX(run_id) FROM rotation_runs)")" = running ]; then
    killed=1; break; fi
  # the run finished before the kill: make more work for the next attempt
  "$rotate" start --kek payments >/dev/null
done
if [ "$killed" = 1 ]; then pass "a run was killed (SIGKILL) after $got of $n files, with their progress recorded as it happened"
else flunk "could not kill a run during its file phase in 5 attempts"; fi
newest=$(sql "SELECT MAX(version) FROM kek_versions WHERE family = 'payments'")
old=$((newest - 1))
expect_status 1 "(a) retire v$old after the killed run is refused" -- "$rotate" retire --kek payments --version "$old"
expect_grep "did not complete \(it is still running, or was killed\)" "$work/last.err" "the refusal names the unfinished run"
expect_status 1 "(a) retire v1 after the killed run is refused too" -- "$rotate" retire --kek payments --version 1
expect_status 0 "status lists the killed run with the paths it was given" -- "$rotate" status
expect_grep "running \(or killed\); covered the catalog, $work/files" "$work/last.out" "status shows the run and its paths"
expect_status 0 "(a) zero files lost: every file still decrypts" -- "$seed" files --map "$work/map"
expect_status 0 "(a) zero catalog DEKs lost" -- "$seed" verify --catalog "$db" --kek payments --manifest "$work/manifest"
# Every run so far met the empty file: a watchdog proves it does not spin.
rc=0; timeout 60 "$rotate" run "$work/files" >"$work/rerun.out" 2>"$work/rerun.err" || rc=$?
[ "$rc" = 0 ] && pass "(c) the rerun completes (exit 0), empty file and all" || {
  flunk "(c) the rerun exited $rc"; sed 's/^/     | /' "$work/rerun.err" | tail; }
expect_grep "covered the catalog, $work/files" "$work/rerun.err" "run says which paths it covered"
expect_grep "rotation complete" "$work/rerun.err" "run says the rotation is complete"
expect_status 0 "(c) every file decrypts under v$newest" -- "$seed" files --map "$work/map" --version "$newest"
for v in $(seq 1 "$old"); do
  expect_status 0 "(c) retire v$v is allowed after the complete run" -- "$rotate" retire --kek payments --version "$v"
done
expect_grep "covered by run [0-9]+ \(to v$newest, complete\): the catalog, $work/files" "$work/last.out" \
  "retire says which run covered which paths"
expect_status 0 "(c) zero files lost after retire" -- "$seed" files --map "$work/map" --version "$newest"
expect_status 0 "(c) zero catalog DEKs lost after retire" -- "$seed" verify --catalog "$db" --kek payments \
  --manifest "$work/manifest" --version "$newest"

# (b) damaged files in the tree: run rewraps everything else, lists each, exits non-zero, retire refused.
expect_status 0 "start the next rotation" -- "$rotate" start --kek payments
v=$((newest + 1)); old=$newest
head -c 100 "$work/files/a/f2.kw" > "$work/files/a/truncated.kw"
# Cut at exactly the prefix reader's first read (fixed header + key area): with a context the header
# needs more, and the old reader spun forever here (envelope/stream.cc). The watchdog makes a hang a failure.
"$kw" encrypt --kek payments --context tenant=x "$work/plain.3" "$work/ctx.kw" 2>/dev/null
head -c 360 "$work/ctx.kw" > "$work/files/b/cut-at-360.kw"
expect_status 1 "(b) run with truncated envelopes in the tree exits 1 (damaged data), in bounded time" -- \
  timeout 60 "$rotate" run "$work/files"
expect_grep "NOT ROTATED: $work/files/a/truncated.kw: corrupt-input: .*truncated" "$work/last.err" "the truncated file is named, with the reason"
expect_grep "NOT ROTATED: $work/files/b/cut-at-360.kw: corrupt-input: .*truncated" "$work/last.err" \
  "the envelope cut at 360 bytes is named (no spin)"
expect_grep "rotation INCOMPLETE" "$work/last.err" "run says the rotation is incomplete"
grep -q "NOT ROTATED: .*README.txt\|NOT ROTATED: .*empty" "$work/last.err" && flunk "a non-envelope file was listed as damaged" ||
  pass "non-envelope and empty files are left alone, not listed"
expect_status 0 "(b) every other file was rotated to v$v" -- "$seed" files --map "$work/map" --version "$v"
expect_status 1 "(b) retire v$old is refused while a file could not be rewrapped" -- "$rotate" retire --kek payments --version "$old"
expect_grep "2 file\(s\) or director\(ies\) could not be rewrapped" "$work/last.err" "the refusal gives the reason"
cp "$work/files/b/f1.kw" "$work/f1.before"
expect_status 0 "damage a wrapped DEK (valid slot checksum)" -- "$seed" damage "$work/files/b/f1.kw"
"$rotate" start --kek payments >/dev/null; v=$((v + 1))
rc=0; timeout 60 "$rotate" run "$work/files" >"$work/damaged.out" 2>"$work/damaged.err" || rc=$?
if [ "$rc" = 1 ] || [ "$rc" = 3 ]; then pass "(b) run with a tampered wrapped DEK exits non-zero ($rc)"; else flunk "(b) run exited $rc"; fi
expect_grep "NOT ROTATED: $work/files/b/f1.kw" "$work/damaged.err" "the tampered file is named"
expect_grep "NOT ROTATED: $work/files/a/truncated.kw" "$work/damaged.err" "every rerun names the truncated file again"
grep -v "^$work/files/b/f1.kw " "$work/map" > "$work/map.good"
expect_status 0 "(b) every undamaged file was rotated to v$v" -- "$seed" files --map "$work/map.good" --version "$v"
expect_status 1 "(b) retire is still refused" -- "$rotate" retire --kek payments --version "$((v - 1))"
expect_grep "still reference v$((v - 2))|could not be rewrapped" "$work/last.err" "the refusal names the files"
# Restore the good copy and move the truncated one out: the next run completes.
cp "$work/f1.before" "$work/files/b/f1.kw"; mv "$work/files/a/truncated.kw" "$work/files/b/cut-at-360.kw" "$work/"
expect_status 0 "the run after the damage is repaired completes" -- timeout 60 "$rotate" run "$work/files"
expect_status 0 "zero files lost: all $n decrypt under v$v" -- "$seed" files --map "$work/map" --version "$v"
for old in $(seq $((v - 2)) $((v - 1))); do
  expect_status 0 "retire v$old after the complete run" -- "$rotate" retire --kek payments --version "$old"
done

# A run given fewer paths than an earlier run of the same rotation does not prove those paths.
mkdir -p "$work/other"; cp "$work/files/a/f2.kw" "$work/other/copy.kw"
"$rotate" start --kek payments >/dev/null; v=$((v + 1))
expect_status 0 "run over two paths" -- "$rotate" run "$work/files" "$work/other"
"$rotate" start --kek payments >/dev/null; v=$((v + 1))
expect_status 0 "a run over only the catalog (no paths) completes" -- "$rotate" run
expect_status 1 "retire after it is refused: an earlier run of this rotation was given paths it was not" -- \
  "$rotate" retire --kek payments --version $((v - 1))
expect_status 0 "a run over both paths" -- "$rotate" run "$work/files" "$work/other"

# Envelopes behind a symbolic link to a directory are data too: the walk follows links (each
# directory once, so a link cycle ends).
mkdir -p "$work/linked"; "$kw" encrypt --kek payments "$work/plain.1" "$work/linked/l.kw" 2>/dev/null
ln -s "$work/linked" "$work/files/link"; ln -s "$work/files" "$work/linked/cycle"
"$rotate" start --kek payments >/dev/null; v=$((v + 1))
expect_status 0 "run over a tree with links to directories (and a cycle)" -- timeout 60 "$rotate" run "$work/files" "$work/other"
echo "$work/linked/l.kw $work/plain.1" > "$work/map.link"
expect_status 0 "the envelope behind the link was rotated to v$v" -- "$seed" files --map "$work/map.link" --version "$v"

# Escrow: 0600 under umask 000, never over an existing file, durable before the destroy.
: > "$work/exists.escrow"
expect_status 2 "retire refuses to overwrite an existing escrow file" -- "$rotate" retire --kek payments --version $((v - 1)) \
  --escrow "$work/exists.escrow"
in_token $((v - 1)) && pass "nothing was destroyed when the escrow could not be written" || flunk "destroyed without escrow"
expect_status 1 "retire whose escrow file cannot be created fails" -- "$rotate" retire --kek payments --version $((v - 1)) \
  --escrow "$work/no/such/dir/v.escrow"
expect_grep "marked retired in the catalog but still on the token: fix this and run the same retire again" "$work/last.err" \
  "it says the version is marked but not destroyed, and how to finish"
in_token $((v - 1)) && pass "the version was not destroyed without its escrow" || flunk "destroyed without escrow"
expect_status 0 "retire with --escrow under umask 000 (finishing the interrupted retire)" -- bash -c "umask 000; '$rotate' retire --kek payments --version $((v - 1)) --escrow '$work/v.escrow'"
[ "$(stat -c %a "$work/v.escrow")" = 600 ] && pass "the escrow file is mode 0600 under umask 000" ||
  flunk "escrow mode $(stat -c %a "$work/v.escrow")"
grep -q "\"format\": \"keyward-kek-blob/v1\"" "$work/v.escrow" && pass "the escrow file holds the blob" || flunk "escrow file empty"

# Override: named for what it costs, and it says what was lost.
printf 'x\n' > "$work/x.plain"; "$kw" encrypt --kek payments "$work/x.plain" "$work/other/late.kw" 2>/dev/null
"$rotate" start --kek payments >/dev/null; v=$((v + 1))
expect_status 0 "--i-accept-data-loss retires without a run" -- "$rotate" retire --kek payments --version $((v - 1)) --i-accept-data-loss
expect_grep "WARNING: --i-accept-data-loss" "$work/last.err" "and warns"

# shred --kek must not destroy a family other scopes use.
expect_status 1 "shred --kek of a shared family is refused" -- "$rotate" shred --scope seed/1 --kek payments
expect_grep "DEK\(s\) of other scopes are wrapped under it" "$work/last.err" "the refusal says why"
in_token "$v" && pass "the shared family is still on the token" || flunk "shred destroyed a shared family"

# Shred with another process holding the catalog open: no copy of the wrapped DEK may remain in any
# catalog file (db, -wal, -shm), or shred says what remains and exits non-zero.
count_copies() {  # count_copies HEX: total occurrences in the catalog files
  "$seed" count-bytes --hex "$1" "$db" "$db-wal" "$db-shm" | awk '$2 > 0 { s += $2 } END { print s + 0 }'; }
hold() {  # hold SQL: a sqlite3 process that runs SQL on the catalog and then keeps it open
  rm -f "$work/hold.out"
  # sqlite3 keeps the catalog open while its stdin is: until the sleep (pid kept for release) ends.
  (printf '%s\n' "$1"; sleep 60 & echo $! > "$work/hold.sleep"; wait) | sqlite3 "$db" > "$work/hold.out" 2>&1 &
  holder=$!
  for _ in $(seq 1 1000); do [ -s "$work/hold.out" ] && break; sleep 0.01; done
}
release() { kill "$(cat "$work/hold.sleep")" 2>/dev/null || true; wait "$holder" 2>/dev/null || true; }
for scope in tenant:idle tenant:reader; do
  for i in 1 2 3 4; do printf 'value %s\n' "$i" | "$kw" field encrypt --scope "$scope" --kek payments > "$work/$scope.values"; done
done
idle_hex=$(sql "SELECT hex(wrapped) FROM deks WHERE scope = 'tenant:idle'")
reader_hex=$(sql "SELECT hex(wrapped) FROM deks WHERE scope = 'tenant:reader'")
[ -n "$idle_hex" ] && [ -n "$reader_hex" ] && pass "field values made the scopes' DEKs" || flunk "no DEKs for the scopes"
hold "SELECT COUNT(*) FROM deks;"
expect_status 0 "shred while another process holds the catalog open (idle)" -- "$rotate" shred --scope tenant:idle
expect_grep "no copy of the shredded wrapped DEKs remains" "$work/last.out" "shred says no copy remains"
[ "$(count_copies "$idle_hex")" = 0 ] && pass "no copy of the wrapped DEK in db, -wal or -shm" ||
  flunk "$(count_copies "$idle_hex") copies of the shredded wrapped DEK remain"
release
hold "BEGIN; SELECT COUNT(*) FROM deks;"
expect_status 1 "shred while another process has a read transaction open exits 1" -- "$rotate" shred --scope tenant:reader
expect_grep "shred incomplete: .*$db-wal: the WAL could not be truncated because another process" "$work/last.err" \
  "shred says what remains, where, and what to do"
release
expect_status 0 "shred again once the reader is gone" -- "$rotate" shred --scope tenant:reader
[ "$(count_copies "$reader_hex")" = 0 ] && pass "no copy of the wrapped DEK remains after the second shred" ||
  flunk "$(count_copies "$reader_hex") copies remain"
expect_status 1 "the shredded values no longer decrypt" -- bash -c "'$kw' field decrypt < '$work/tenant:reader.values'"
finish
