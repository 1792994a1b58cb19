#!/usr/bin/env bash
# The ceremony end to end through keyward-ceremony: 3-of-5 root backup, KEK, verify, transcript,
# and the recovery drill onto a second, fresh token (refusing too few or tampered shares).
. "$(dirname "$0")/lib.sh"
ceremony="$bin/keyward-ceremony"
new_token_dir first keyward-first
first_token=$KEYWARD_TOKEN
shares="$work/shares"; mkdir -p "$shares"
t="$work/transcript.jsonl"

expect_status 0 "init with a 3-of-5 backup" -- "$ceremony" init --shares 5 --threshold 3 --share-dir "$shares" \
  --transcript "$t" --operator alice --witness bob
root_kcv=$(grep -oE 'KCV \(KW fingerprint\): [0-9a-f]+' "$work/last.out" | awk '{print $4}')
[ -n "$root_kcv" ] && pass "init printed the root KCV ($root_kcv)" || flunk "init printed no KCV"
expect_status 2 "a second init is refused" -- "$ceremony" init --transcript "$t"
[ "$(stat -c %a "$shares/root-v1-share-1-of-5.json")" = 600 ] && pass "share files are mode 0600" || flunk "share mode"
expect_status 0 "kek create payments" -- "$ceremony" kek create payments --transcript "$t"
expect_status 0 "kek create payments (v2)" -- "$ceremony" kek create payments --transcript "$t"
expect_status 0 "kek list" -- "$ceremony" kek list --json
expect_grep '"version": 2' "$work/last.out" "kek list shows version 2"
expect_status 0 "verify on a clean token" -- "$ceremony" verify
expect_status 0 "kek export" -- "$ceremony" kek export payments --version 1 --out "$work/payments-v1.blob"
[ "$(stat -c %a "$work/payments-v1.blob")" = 600 ] && pass "an exported KEK blob is mode 0600" || flunk "export blob mode"
for blob in "$(dirname "$t")"/payments-v*.kekblob; do
  [ "$(stat -c %a "$blob")" = 600 ] && pass "$(basename "$blob") is mode 0600" || flunk "$(basename "$blob") mode"
done
expect_status 0 "transcript verify" -- "$ceremony" transcript verify "$t"

# Every single-line edit of the transcript is detected.
lines=$(wc -l < "$t")
for n in $(seq 1 "$lines"); do
  sed "${n}s/\"seq\":/\"seq\" :/; ${n}s/alice/mallory/" "$t" > "$work/edited.jsonl"
  if cmp -s "$t" "$work/edited.jsonl"; then sed -i "${n}s/\"event\":\"/\"event\":\"x/" "$work/edited.jsonl"; fi
  expect_status 1 "transcript line $n edited is detected" -- "$ceremony" transcript verify "$work/edited.jsonl"
  sed "${n}d" "$t" > "$work/removed.jsonl"
  if [ "$n" -lt "$lines" ]; then
    expect_status 1 "transcript line $n removed is detected" -- "$ceremony" transcript verify "$work/removed.jsonl"
  fi
done
{ head -n 2 "$t"; sed -n 2p "$t"; tail -n +3 "$t"; } > "$work/dup.jsonl"
expect_status 1 "a duplicated transcript line is detected" -- "$ceremony" transcript verify "$work/dup.jsonl"

# A foreign key with a keyward label and a loose policy, made by an independent client.
export P11PIN=$(cat "$work/first/user.pin")
pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label keyward-first --login --pin env:P11PIN \
  --keygen --key-type AES:32 --label keyward/kek/payments/v7 >/dev/null 2>&1
unset P11PIN
expect_status 1 "verify flags a pkcs11-tool key posing as a KEK" -- "$ceremony" verify
expect_grep 'keyward/kek/payments/v7' "$work/last.out" "verify names the foreign object"
expect_grep 'CKA_DECRYPT' "$work/last.out" "verify names the loose attribute"

# Recovery drill onto a second token in the same module.
second_pin="$work/second.pin"
printf 'so-pin-for-the-second-token\n' > "$work/second.so"; chmod 600 "$work/second.so"
second_uri="pkcs11:token=keyward-second?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:$second_pin"
s1="$shares/root-v1-share-1-of-5.json"; s3="$shares/root-v1-share-3-of-5.json"; s5="$shares/root-v1-share-5-of-5.json"
expect_status 2 "recover from 2 shares is refused" -- "$ceremony" recover --token "$second_uri" \
  --so-pin-source "file:$work/second.so" --transcript "$work/t2.jsonl" "$s1" "$s3"
[ ! -e "$second_pin" ] && pass "nothing created after a refused recovery" || flunk "a PIN file was left behind"
sed 's/"index": 3/"index": 4/' "$s3" > "$work/tampered.json"
expect_status 1 "recover with a tampered share is refused" -- "$ceremony" recover --token "$second_uri" \
  --so-pin-source "file:$work/second.so" --transcript "$work/t2.jsonl" "$s1" "$work/tampered.json" "$s5"
expect_status 2 "recover with a duplicated share is refused" -- "$ceremony" recover --token "$second_uri" \
  --so-pin-source "file:$work/second.so" --transcript "$work/t2.jsonl" "$s1" "$s1" "$s5"
expect_status 0 "recover from 3 shares onto a fresh token" -- "$ceremony" recover --token "$second_uri" \
  --so-pin-source "file:$work/second.so" --transcript "$work/t2.jsonl" --expect-kcv "$root_kcv" "$s1" "$s3" "$s5"
expect_grep "KCV $root_kcv matches" "$work/last.out" "recovered root has the original KCV"
expect_status 0 "the KEK blob imports on the second token" -- "$ceremony" kek import "$work/payments-v1.blob" \
  --token "$second_uri" --transcript "$work/t2.jsonl"
expect_status 0 "verify on the recovered token" -- "$ceremony" verify --token "$second_uri"
finish
