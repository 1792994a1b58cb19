#!/usr/bin/env bash
# The main job end to end on a project-local SoftHSM token (make demo).
# Each step prints what it did; any failure stops the demo with a non-zero exit.
set -euo pipefail
build="${1:-build}"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$root/$build/bin"
demo_dir="$root/$build/demo"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. A fresh project-local SoftHSM token (PINs in 0600 files, never on a command line)"
"$root/softhsm-conf/make-token.sh" --dir "$root/$build/dev-token" --label keyward-dev --force --bin "$bin"
# shellcheck disable=SC1091
. "$root/$build/dev-token/env"

step "2. What the pkcs11 layer sees: module, token, mechanisms keyward needs"
"$bin/keyward-token" report

if [ -x "$bin/keyward-ceremony" ] && [ -f "$root/scripts/demo-hierarchy.sh" ]; then
  bash "$root/scripts/demo-hierarchy.sh" "$bin" "$demo_dir"
fi
printf '\ndemo finished\n'
