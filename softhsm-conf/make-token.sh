#!/usr/bin/env bash
# Creates a project-local SoftHSM2 token for development and tests.
#
#   softhsm-conf/make-token.sh [--dir DIR] [--label LABEL] [--force] [--bin DIR] [--quiet]
#
# Writes DIR/softhsm2.conf (token files in DIR/tokens), random SO and user PINs in DIR/so.pin and
# DIR/user.pin (mode 0600), initialises a token with keyward-token (PINs are read from the files,
# never passed on a command line), and prints the environment to use:
#   export SOFTHSM2_CONF=DIR/softhsm2.conf
#   export KEYWARD_TOKEN='pkcs11:token=LABEL?module-path=…&pin-source=file:DIR/user.pin'
# DIR defaults to build/dev-token in the source tree. --force replaces an existing DIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
dir="$root/build/dev-token"
label="keyward-dev"
bin="${KEYWARD_BIN_DIR:-$root/build/bin}"
module="${KEYWARD_MODULE:-/usr/lib/softhsm/libsofthsm2.so}"
force=0
quiet=0

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "make-token.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="${2:?--dir needs a path}"; shift 2 ;;
    --label) label="${2:?--label needs a value}"; shift 2 ;;
    --bin) bin="${2:?--bin needs a path}"; shift 2 ;;
    --force) force=1; shift ;;
    --quiet) quiet=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

mkdir -p "$(dirname "$dir")"
dir=$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")
case "$dir" in
  /var/lib/softhsm*) die "refusing the system token directory $dir: tokens here are project-local" ;;
esac
if [ -n "${HOME:-}" ] && { [ "$dir" = "$HOME" ] || [ "$dir" = "$HOME/.config/softhsm2" ]; }; then
  die "refusing $dir: tokens are created under the build tree, not in \$HOME"
fi
[ -x "$bin/keyward-token" ] || die "$bin/keyward-token is missing: build first (make build)"
[ -f "$module" ] || die "PKCS#11 module $module is missing: apt-get install softhsm2"

if [ -e "$dir" ]; then
  [ "$force" = 1 ] || die "$dir exists: pass --force to replace it (its keys are lost)"
  rm -rf -- "$dir"
fi

umask 077
mkdir -p "$dir/tokens"
sed "s|@TOKENDIR@|$dir/tokens|" "$here/softhsm2.conf.in" > "$dir/softhsm2.conf"
# 128-bit random PINs as hex; written by the shell's builtins only (no PIN on any command line).
random_hex() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }
so_pin=$(random_hex); printf '%s\n' "$so_pin" > "$dir/so.pin"; unset so_pin
user_pin=$(random_hex); printf '%s\n' "$user_pin" > "$dir/user.pin"; unset user_pin
chmod 600 "$dir/so.pin" "$dir/user.pin" "$dir/softhsm2.conf"

export SOFTHSM2_CONF="$dir/softhsm2.conf"
"$bin/keyward-token" init --module "$module" --label "$label" \
  --so-pin-source "file:$dir/so.pin" --user-pin-source "file:$dir/user.pin" > /dev/null

uri="pkcs11:token=$label?module-path=$module&pin-source=file:$dir/user.pin"
cat > "$dir/env" <<ENV
export SOFTHSM2_CONF='$dir/softhsm2.conf'
export KEYWARD_TOKEN='$uri'
ENV
if [ "$quiet" = 0 ]; then
  echo "# token '$label' ready in $dir (PIN files mode 0600); use it with:"
  cat "$dir/env"
fi
