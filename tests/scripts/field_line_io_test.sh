#!/usr/bin/env bash
# keyward field's block-buffered line I/O (issue 10): many lines across 256 KiB buffer boundaries,
# a maximal line among short ones, empty lines, a last line without a newline, an error deep in a
# batch (the lines before it all written, the error naming its line), and a closed stdout.
. "$(dirname "$0")/lib.sh"
kw="$bin/keyward"
new_token_dir tok keyward-lineio
"$bin/keyward-ceremony" init --transcript "$work/t.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create payments --transcript "$work/t.jsonl" >/dev/null
export KEYWARD_CATALOG="$work/catalog.db"
enc() { "$kw" field encrypt --scope tenant:io --kek payments "$@"; }

# 50 000 lines of varying length (0..99 bytes, some empty), then a 65 536-byte one, then more.
python3 - "$work/plain" <<'PY'
import random, sys
random.seed(10)
alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 ,.;'\"\t"
with open(sys.argv[1], "w") as f:
    for i in range(50000):
        f.write("".join(random.choice(alphabet) for _ in range(random.randrange(100))) + "\n")
    f.write("m" * 65536 + "\n")
    for i in range(30000):
        f.write("line %d\n" % i)
PY
for suite in randomized deterministic; do
  expect_status 0 "80 001 lines encrypt ($suite)" -- bash -c "$(declare -f enc); kw='$kw'; enc --suite $suite < '$work/plain' > '$work/values.$suite'"
  [ "$(wc -l < "$work/values.$suite")" = 80001 ] && pass "one value per line ($suite)" || flunk "$(wc -l < "$work/values.$suite") values ($suite)"
  expect_status 0 "and decrypt to the same bytes ($suite)" -- bash -c "'$kw' field decrypt --scope tenant:io < '$work/values.$suite' | cmp - '$work/plain'"
done

# A last line without a newline counts (as std::getline); an empty input gives no output.
printf 'first\nlast' > "$work/nonl"
enc < "$work/nonl" > "$work/nonl.values"
[ "$(wc -l < "$work/nonl.values")" = 2 ] && pass "a last line without a newline is a value" || flunk "$(wc -l < "$work/nonl.values") values"
printf 'first\nlast\n' | cmp -s - <("$kw" field decrypt < "$work/nonl.values") && pass "and decrypts" || flunk "no-newline round trip"
: > "$work/empty"
expect_status 0 "an empty input" -- bash -c "$(declare -f enc); kw='$kw'; enc < '$work/empty' > '$work/empty.values'"
[ ! -s "$work/empty.values" ] && pass "gives no values" || flunk "an empty input gave output"

# An error deep in a batch: every line before it is on stdout, the error names its line.
{ head -n 59999 "$work/values.randomized"; echo 'not-a-value'; tail -n 5 "$work/values.randomized"; } > "$work/bad"
expect_status 1 "decrypt fails on line 60000" -- bash -c "'$kw' field decrypt < '$work/bad' > '$work/bad.out'"
expect_grep "line 60000" "$work/last.err" "the error names line 60000"
head -n 59999 "$work/plain" | cmp -s - "$work/bad.out" && pass "lines 1-59999 are all on stdout" \
  || flunk "stdout holds $(wc -l < "$work/bad.out") lines, not the 59999 before the error"

# A tampered value deep in a batch: refused (authentication), lines before it kept.
python3 - "$work/values.randomized" "$work/tampered" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
v = lines[40000]
lines[40000] = v[:-3] + ("A" if v[-3] != "A" else "B") + v[-2:]
open(sys.argv[2], "w").write("\n".join(lines))
PY
expect_status 1 "a tampered value on line 40001 is refused" -- bash -c "'$kw' field decrypt < '$work/tampered' > '$work/tampered.out'"
expect_grep "line 40001" "$work/last.err" "the refusal names line 40001"
[ "$(wc -l < "$work/tampered.out")" = 40000 ] && pass "the 40000 lines before it are on stdout" || flunk "$(wc -l < "$work/tampered.out") lines on stdout"

# stdout closed early (SIGPIPE ignored, so the write error itself is seen): exit 1, a message that says so.
expect_status 1 "a closed stdout is an error" -- bash -c "trap '' PIPE; '$kw' field decrypt < '$work/values.randomized' | head -c 10 > /dev/null; exit \${PIPESTATUS[0]}"
expect_grep "writing the output failed" "$work/last.err" "the message says the output failed"
finish
