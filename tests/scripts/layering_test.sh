#!/usr/bin/env bash
# The layering of docs/DEVELOPMENT.md, checked on the source tree (no build needed):
#  1. only pkcs11/ names a PKCS#11 C_ function (tests/ may name one in text, never call one);
#  2. each room includes only the rooms below it, and third-party headers only where they belong;
#  3. the public header keyward/keyward.h and what it includes use only standard and keyward/ headers;
#  4. the link graph of the rooms (keyward_layer in CMakeLists.txt) matches, and envelope/ links no
#     PKCS#11 library.
# Usage: layering_test.sh [SOURCE_DIR] (default $KEYWARD_SOURCE_DIR). Exit 0 clean, 1 on any violation.
set -uo pipefail
top=${1:-${KEYWARD_SOURCE_DIR:?give the source directory}}
cd "$top" || exit 2

violations=0
violation() {  # violation FILE:LINE RULE TEXT
  violations=$((violations + 1))
  printf 'layering: %s: %s\n    %s\n' "$1" "$2" "$3"
}

rooms=(base pkcs11 envelope audit hierarchy catalog ceremony rotation keyward tools)
# What each room may include of keyward (itself included). Why, in docs/DEVELOPMENT.md "Layers".
declare -A may_include=(
  [base]="base"
  [pkcs11]="base pkcs11"
  [envelope]="base envelope"
  [audit]="base pkcs11 audit"
  [hierarchy]="base pkcs11 envelope audit hierarchy"
  [catalog]="base envelope catalog"
  [ceremony]="base pkcs11 envelope audit hierarchy ceremony"
  [rotation]="base envelope audit hierarchy catalog rotation"
  [keyward]="base pkcs11 envelope audit hierarchy catalog keyward"
  [tools]="base pkcs11 envelope audit hierarchy catalog ceremony rotation keyward tools"
)
keyward_dirs=" ${rooms[*]} "

# C and C++ sources of the tree, outside build trees.
sources() {
  find "$@" -type f \( -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.h' -o -name '*.hpp' \) 2>/dev/null | sort
}

# --- 1. PKCS#11 functions -------------------------------------------------------------------------
# Every PKCS#11 function is C_ followed by a capitalised name (C_Initialize … C_GetInterfaceList).
c_function='(^|[^A-Za-z0-9_])C_[A-Z][A-Za-z0-9]*'
library_dirs=()
for dir in base envelope audit hierarchy catalog ceremony rotation keyward tools bench examples; do
  [ -d "$dir" ] && library_dirs+=("$dir")
done
while IFS= read -r hit; do
  violation "${hit%%:*}:$(cut -d: -f2 <<<"$hit")" "names a PKCS#11 function outside pkcs11/ (call it through pkcs11/, and say what the step does rather than which C_ function)" \
    "$(cut -d: -f3- <<<"$hit" | sed 's/^[[:space:]]*//')"
done < <(sources "${library_dirs[@]}" | xargs -r grep -nE "$c_function" /dev/null)
if [ -d tests ]; then
  while IFS= read -r hit; do
    violation "${hit%%:*}:$(cut -d: -f2 <<<"$hit")" "calls a PKCS#11 function in a test: go through pkcs11/ (or pkcs11-tool for an independent client)" \
      "$(cut -d: -f3- <<<"$hit" | sed 's/^[[:space:]]*//')"
  # tests/fault_module/ is excepted: it is itself a PKCS#11 module (a pass-through that injects faults),
  # so it must forward each call through the real module's function list; nothing else in tests/ may.
  done < <(sources tests | grep -v '^tests/fault_module/' | xargs -r grep -nE '((->|\.)C_[A-Z][A-Za-z0-9]*|(^|[^A-Za-z0-9_"])C_[A-Z][A-Za-z0-9]*[[:space:]]*\()' /dev/null)
fi

std_headers=" algorithm any array atomic barrier bit bitset cassert cctype cerrno cfenv cfloat charconv chrono cinttypes
  climits clocale cmath codecvt compare complex concepts condition_variable coroutine csetjmp csignal cstdarg cstddef
  cstdint cstdio cstdlib cstring ctime cuchar cwchar cwctype deque exception execution expected filesystem flat_map
  flat_set format forward_list fstream functional future generator initializer_list iomanip ios iosfwd iostream istream
  iterator latch limits list locale map mdspan memory memory_resource mutex new numbers numeric optional ostream print
  queue random ranges ratio regex scoped_allocator semaphore set shared_mutex source_location span spanstream sstream
  stack stacktrace stdexcept stdfloat stop_token streambuf string string_view syncstream system_error thread tuple
  type_traits typeindex typeinfo unordered_map unordered_set utility valarray variant vector version
  stddef.h stdint.h stdbool.h stdlib.h stdio.h string.h limits.h "
std_headers=" $(echo $std_headers) "

# A public keyward/ header that includes only standard headers (the API's vocabulary: error, export
# macro) may be used by any room: the library and the API then share one definition, with no cycle.
is_public_leaf() {
  local header=$1 inner
  [ -f "$header" ] && [[ "$header" != keyward/internal/* ]] || return 1
  while IFS= read -r inner; do
    [[ "$std_headers" == *" $inner "* ]] || [ "$inner" = keyward/export.h ] || return 1
  done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/p' "$header")
}

# --- 2. includes per room -------------------------------------------------------------------------
# include_lines DIR: "file:line:header" for every #include in DIR.
include_lines() {
  sources "$1" | xargs -r grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' /dev/null |
    sed -E 's/^([^:]+:[0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1:\2/'
}
for room in "${rooms[@]}"; do
  [ -d "$room" ] || continue
  allowed=" ${may_include[$room]} "
  while IFS= read -r line; do
    where=${line%:*}
    header=${line##*:}
    first=${header%%/*}
    if [ "$first" != "$header" ] && [[ "$keyward_dirs" == *" $first "* ]]; then
      if [ "$first" = tools ] && [ "$room" != tools ]; then
        violation "$where" "$room/ includes a tool's file: tools hold no library code; move it into a room" "#include $header"
      elif [[ "$allowed" != *" $first "* ]] && ! { [ "$first" = keyward ] && is_public_leaf "$header"; }; then
        violation "$where" "$room/ may include only ${may_include[$room]// /, } of keyward" "#include $header"
      fi
      continue
    fi
    case "$header" in
      p11-kit/* | libp11.h | pkcs11.h | pkcs11t.h | pkcs11f.h)
        [ "$room" = pkcs11 ] || violation "$where" "only pkcs11/ includes the PKCS#11 and libp11 headers (use pkcs11/ck.h for CKA_ names)" "#include $header" ;;
      sqlite3.h)
        [ "$room" = catalog ] || violation "$where" "only catalog/ includes SQLite" "#include $header" ;;
      libpq-fe.h | libpq/* | postgres_ext.h)
        [ "$room" = catalog ] || violation "$where" "only catalog/ includes libpq (PostgreSQL)" "#include $header" ;;
      CLI/*)
        [ "$room" = tools ] || violation "$where" "only tools/ parse command lines (CLI11)" "#include $header" ;;
    esac
    # base/ and envelope/: the standard library, the C/POSIX headers, OpenSSL and nlohmann::json only.
    if [ "$room" = base ] || [ "$room" = envelope ]; then
      if ! [[ "$header" =~ ^(openssl/|nlohmann/|sys/|netinet/|arpa/)|^[A-Za-z0-9_]+(\.h)?$ ]] || [ "$header" = libp11.h ] ||
        [ "$header" = sqlite3.h ] || [ "$header" = libpq-fe.h ] || [ "$header" = pkcs11.h ]; then
        violation "$where" "$room/ may include, besides keyward's ${may_include[$room]// /, }, only the standard library, C/POSIX headers, OpenSSL and nlohmann::json" "#include $header"
      fi
    fi
  done < <(include_lines "$room" | sed -E 's/^([^:]+:[0-9]+):/\1:/')
done

# --- 3. the public header ---------------------------------------------------------------------------
if [ -f keyward/keyward.h ]; then
  declare -A seen=()
  queue=(keyward/keyward.h)
  while [ ${#queue[@]} -gt 0 ]; do
    file=${queue[0]}
    queue=("${queue[@]:1}")
    [ -n "${seen[$file]:-}" ] && continue
    seen[$file]=1
    while IFS= read -r line; do
      where=${line%:*}
      header=${line##*:}
      if [[ "$header" == keyward/internal/* ]]; then
        violation "$where" "a public header includes an internal one (keyward/internal/ is not installed)" "#include $header"
      elif [[ "$header" == keyward/* ]]; then
        if [ -f "$header" ]; then queue+=("$header"); else violation "$where" "a public header includes a missing keyward/ header" "#include $header"; fi
      elif [[ "$std_headers" != *" $header "* ]]; then
        violation "$where" "public headers (keyward/keyward.h and what it includes) use only standard and keyward/ headers" "#include $header"
      fi
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "$file" /dev/null |
               sed -E 's/^([^:]+:[0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1:\2/')
  done
else
  echo "layering: keyward/keyward.h does not exist yet: public header check skipped"
fi

# --- 4. the link graph ------------------------------------------------------------------------------
# keyward_layer(<target> <dir> <dependencies>...) calls, joined onto one line each.
declare -A room_of=() deps_of=()
while read -r target dir deps; do
  room_of[$target]=$dir
  deps_of[$target]=$deps
done < <(awk '/^[[:space:]]*keyward_layer\(/ {call=""; open=1} open {call = call " " $0} open && /\)/ {
             open=0; sub(/^[^(]*\(/, "", call); sub(/\).*$/, "", call); gsub(/[[:space:]]+/, " ", call); print call}' CMakeLists.txt |
         sed 's/^ //')
if [ ${#room_of[@]} -eq 0 ]; then
  violation CMakeLists.txt "no keyward_layer(...) calls found: the link check cannot run" "(expected one per room)"
fi
for target in "${!room_of[@]}"; do
  room=${room_of[$target]}
  allowed=" ${may_include[$room]:-} "
  for dep in ${deps_of[$target]}; do
    [ -n "${room_of[$dep]:-}" ] || continue
    [[ "$allowed" == *" ${room_of[$dep]} "* ]] ||
      violation "CMakeLists.txt" "$target ($room/) links $dep (${room_of[$dep]}/), which $room/ may not use" "keyward_layer($target $room ${deps_of[$target]})"
  done
done
# What a target links, through the other rooms.
links_of() {
  local target=$1 dep
  for dep in ${deps_of[$target]:-}; do
    echo "$dep"
    [ -n "${room_of[$dep]:-}" ] && links_of "$dep"
  done
}
for target in "${!room_of[@]}"; do
  case ${room_of[$target]} in base | envelope) ;; *) continue ;; esac
  bad=$(links_of "$target" | grep -E 'P11KIT|LIBP11|p11-kit|libp11|SQLITE|LIBPQ' | sort -u | tr '\n' ' ')
  [ -z "$bad" ] || violation "CMakeLists.txt" "$target (${room_of[$target]}/) must not link a PKCS#11 or database library, but links: $bad" \
    "keyward_layer($target ${room_of[$target]} ${deps_of[$target]})"
done

if [ "$violations" -gt 0 ]; then
  echo "layering: $violations violation(s); the rules and their reasons are in docs/DEVELOPMENT.md, \"Layers\""
  exit 1
fi
echo "layering: ok (${#room_of[@]} rooms linked, every include and PKCS#11 name where it belongs)"
