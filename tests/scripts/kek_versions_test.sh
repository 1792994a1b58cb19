#!/usr/bin/env bash
# Creating key versions concurrently (issue 9): several `keyward-ceremony kek create F` and several
# `keyward-rotate start --kek F` at once give distinct, consecutive versions, one object per label,
# and afterwards encrypt, run and decrypt work with zero values or files lost. Every command runs
# under a watchdog (timeout), never a timing assertion.
. "$(dirname "$0")/lib.sh"
kw="$bin/keyward"; ceremony="$bin/keyward-ceremony"; rotate="$bin/keyward-rotate"
new_token_dir tok keyward-versions
export KEYWARD_CATALOG="$work/catalog.db"
t="$work/transcript.jsonl"
expect_status 0 "init" -- timeout 60 "$ceremony" init --transcript "$t"
expect_status 0 "kek create payments (v1)" -- timeout 60 "$ceremony" kek create payments --transcript "$t"

# Versions of family F on the token, one line per secret key labelled keyward/kek/F/vN (duplicates show twice).
kek_versions() {
  timeout 60 "$ceremony" kek list --json | python3 -c '
import json, sys
for k in json.load(sys.stdin):
    if k["name"] == sys.argv[1]: print(k["version"])' "$1" | sort -n
}
# expect_consecutive F N: versions 1..N of F, each exactly once.
expect_consecutive() {
  local got; got=$(kek_versions "$1" | tr '\n' ' ')
  local want; want=$(seq 1 "$2" | tr '\n' ' ')
  if [ "$got" = "$want" ]; then pass "$1 has versions 1..$2, each exactly once"; else flunk "$1 versions: '$got', wanted '$want'"; fi
}

# 1. Six concurrent `kek create`, all appending to one transcript.
pids=()
for i in 1 2 3 4 5 6; do
  timeout 120 "$ceremony" kek create payments --transcript "$t" >"$work/create.$i.out" 2>"$work/create.$i.err" &
  pids+=($!)
done
ok=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then ok=$((ok + 1)); else sed "s/^/     | create $((i + 1)): /" "$work/create.$((i + 1)).err"; fi
done
[ "$ok" = 6 ] && pass "6 concurrent kek create succeeded" || flunk "only $ok of 6 concurrent kek create succeeded"
expect_consecutive payments 7
created=$(cat "$work"/create.*.out | grep -oE 'keyward/kek/payments/v[0-9]+' | sort -u | wc -l)
[ "$created" = 6 ] && pass "each create reported its own version" || flunk "creates reported $created distinct versions"
expect_status 0 "verify after concurrent creates" -- timeout 60 "$ceremony" verify
expect_status 0 "the transcript written by 6 processes at once is one valid chain" -- timeout 60 "$ceremony" transcript verify "$t"

# 1b. Creators outside keyward's lock (each process with its own lock directory, as a foreign client
# would be): the check after creating still never leaves two objects with one label, and a creator
# that lost says so.
pids=()
for i in 1 2 3 4 5 6; do
  mkdir -p "$work/lock.$i"; chmod 700 "$work/lock.$i"
  KEYWARD_LOCK_DIR="$work/lock.$i" timeout 120 "$ceremony" kek create outside --transcript "$work/outside.$i.jsonl" \
    >"$work/outside.$i.out" 2>"$work/outside.$i.err" &
  pids+=($!)
done
lost=0
for i in "${!pids[@]}"; do wait "${pids[$i]}" || lost=$((lost + 1)); done
dups=$(kek_versions outside | uniq -d | wc -l)
[ "$dups" = 0 ] && pass "outside the lock: no label names two KEKs ($((6 - lost)) of 6 creates kept)" ||
  flunk "outside the lock: $dups label(s) name two KEKs"
if grep -l "another object labelled" "$work"/outside.*.err >/dev/null 2>&1; then
  pass "a creator that lost the race says so ($(grep -l "another object labelled" "$work"/outside.*.err | wc -l) of 6)"
fi

# 2. Data under the current version, then four concurrent rotation starts.
mkdir -p "$work/files"
for i in 1 2 3 4 5; do
  head -c $((i * 40000)) /dev/urandom > "$work/plain.$i"
  timeout 60 "$kw" encrypt --kek payments "$work/plain.$i" "$work/files/f$i.kw"
done
printf 'alpha\nbeta\ngamma\n' > "$work/values.plain"
expect_status 0 "field encrypt before the rotations" -- bash -c \
  "timeout 60 '$kw' field encrypt --scope tenant:a --kek payments < '$work/values.plain' > '$work/values.enc'"
pids=()
for i in 1 2 3 4; do
  timeout 120 "$rotate" start --kek payments >"$work/start.$i.out" 2>"$work/start.$i.err" &
  pids+=($!)
done
started=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then started=$((started + 1)); else sed "s/^/     | start $((i + 1)): /" "$work/start.$((i + 1)).err"; fi
done
[ "$started" -ge 1 ] && pass "$started of 4 concurrent starts succeeded" || flunk "no concurrent start succeeded"
# Exactly one new version per start that succeeded.
expect_consecutive payments $((7 + started))
newest=$((7 + started))
expect_status 0 "encrypt after the concurrent starts" -- timeout 60 "$kw" encrypt --kek payments "$work/plain.1" "$work/files/after.kw"
expect_status 0 "run after the concurrent starts" -- timeout 300 "$rotate" run "$work/files"
expect_status 0 "verify after the concurrent starts" -- timeout 60 "$ceremony" verify
lost=0
for i in 1 2 3 4 5; do
  if timeout 60 "$kw" decrypt "$work/files/f$i.kw" "$work/out.$i" 2>"$work/dec.err" && cmp -s "$work/out.$i" "$work/plain.$i"; then :; else
    lost=$((lost + 1)); sed "s/^/     | f$i: /" "$work/dec.err"; fi
done
timeout 60 "$kw" decrypt "$work/files/after.kw" "$work/out.after" 2>/dev/null && cmp -s "$work/out.after" "$work/plain.1" || lost=$((lost + 1))
[ "$lost" = 0 ] && pass "zero files lost after concurrent starts and run" || flunk "$lost file(s) lost"
if timeout 60 "$kw" field decrypt < "$work/values.enc" > "$work/values.dec" 2>"$work/values.err" && cmp -s "$work/values.dec" "$work/values.plain"; then
  pass "zero field values lost after concurrent starts and run"
else flunk "field values lost"; sed 's/^/     | /' "$work/values.err"; fi
timeout 60 "$kw" inspect "$work/files/f1.kw" > "$work/inspect.json" 2>/dev/null || true
expect_grep "\"kek_version\": $newest|\"version\": $newest" "$work/inspect.json" "files are rewrapped under the newest version v$newest"

finish
