# Shared helpers for the shell tests (sourced, not run by ctest: ctest runs *_test.sh only).
set -euo pipefail
: "${KEYWARD_BIN_DIR:?}" "${KEYWARD_SOURCE_DIR:?}" "${KEYWARD_TEST_TMP:?}"
bin="$KEYWARD_BIN_DIR"
checks=0
failures=0

pass() { checks=$((checks + 1)); echo "ok   $*"; }
flunk() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $*"; }
# expect_status CODE DESCRIPTION -- COMMAND...: runs COMMAND, compares its exit status.
expect_status() {
  local want=$1 what=$2; shift 3
  local got=0
  "$@" >"$work/last.out" 2>"$work/last.err" || got=$?
  if [ "$got" = "$want" ]; then pass "$what"; else
    flunk "$what (exit $got, wanted $want)"; sed 's/^/     | /' "$work/last.out" "$work/last.err" | tail -20; fi
}
expect_grep() {  # expect_grep PATTERN FILE DESCRIPTION
  if grep -qE -- "$1" "$2"; then pass "$3"; else flunk "$3 (no '$1' in $2)"; sed 's/^/     | /' "$2" | tail -10; fi
}
finish() {
  echo "$((checks - failures)) passed, $failures failed"
  [ "$failures" = 0 ]
}
# new_token_dir NAME LABEL: a fresh SoftHSM configuration and token; exports SOFTHSM2_CONF and KEYWARD_TOKEN.
new_token_dir() {
  "$KEYWARD_SOURCE_DIR/softhsm-conf/make-token.sh" --dir "$work/$1" --label "$2" --bin "$bin" --quiet --force
  # shellcheck disable=SC1090
  . "$work/$1/env"
}
work=$(mktemp -d "$KEYWARD_TEST_TMP/$(basename "$0" .sh).XXXXXX")
