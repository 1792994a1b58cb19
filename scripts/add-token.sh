#!/usr/bin/env bash
# Brings a token into a set of tokens holding the same keys (docs/CEREMONY.md "Bringing a token into a set"):
#   scripts/add-token.sh --from URI --to URI --transcript FILE [--bin DIR] SHARE...
# (FILE: the new token's own ceremony transcript; each token signs its transcript with its own key)
# 1. recovers the root on TO from the shares, 2. copies every KEK version of FROM to TO (replicate),
# 3. verifies both as a set (same keys by fingerprint, every object against the key policy).
# Custodian passphrases, an expected KCV or a fresh token's SO PIN: run the steps by hand with those flags.
set -euo pipefail
bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/bin"
from=""; to=""; transcript=""; shares=()
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from=${2:?}; shift 2 ;;
    --to) to=${2:?}; shift 2 ;;
    --bin) bin=${2:?}; shift 2 ;;
    --transcript) transcript=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) shares+=("$1"); shift ;;
  esac
done
if [ -z "$from" ] || [ -z "$to" ] || [ -z "$transcript" ] || [ "${#shares[@]}" -lt 1 ]; then
  echo "add-token.sh: give --from URI --to URI --transcript FILE (the new token's transcript) and the share files" >&2; exit 2
fi
echo "1/3 recovering the root on the new token from ${#shares[@]} share(s)"
"$bin/keyward-ceremony" recover --token "$to" --transcript "$transcript" "${shares[@]}"
echo "2/3 copying every KEK version"
"$bin/keyward-ceremony" replicate --from "$from" --to "$to" --transcript "$transcript"
echo "3/3 verifying the set"
"$bin/keyward-ceremony" verify --token "$from" --token "$to"
