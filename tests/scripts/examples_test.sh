#!/usr/bin/env bash
# The installed package (issue 10): `cmake --install` into a temporary prefix, the layout of
# shared INTERFACE "Installed package", only the public API exported, and the examples built against
# the prefix — with find_package (shared and static) and with pkg-config — then run on a fresh token.
. "$(dirname "$0")/lib.sh"
: "${KEYWARD_BUILD_DIR:?}"
src="$KEYWARD_SOURCE_DIR"
prefix="$work/prefix"

# --- install ----------------------------------------------------------------------------------
expect_status 0 "cmake --install into a fresh prefix" -- cmake --install "$KEYWARD_BUILD_DIR" --prefix "$prefix"
for f in include/keyward/keyward.h include/keyward/error.h lib/libkeyward.so lib/libkeyward.a \
         lib/cmake/keyward/keywardConfig.cmake lib/cmake/keyward/keywardConfigVersion.cmake \
         lib/pkgconfig/keyward.pc bin/keyward bin/keyward-ceremony bin/keyward-rotate bin/keyward-token; do
  [ -e "$prefix/$f" ] && pass "installed $f" || flunk "missing $f"
done
internal=$(cd "$prefix/include" && find . -mindepth 1 | grep -vE '^\./keyward(/[a-z_0-9]+\.h)?$' || true)
[ -z "$internal" ] && pass "only public headers are installed (include/keyward/*.h)" || flunk "internal headers installed: $internal"
# Every public header compiles on its own, with nothing but the prefix on the include path.
for header in "$prefix"/include/keyward/*.h; do
  name=$(basename "$header")
  expect_status 0 "$name is self-contained" -- bash -c \
    "echo '#include <keyward/$name>' | g++ -std=c++23 -fsyntax-only -Wall -Wextra -Werror -x c++ -I'$prefix/include' -"
done
# The shared library exports the public API only: no internal layer, no standard-library instance.
nm -D --defined-only --demangle "$prefix/lib/libkeyward.so" | awk '{ $1 = ""; $2 = ""; sub(/^  /, ""); print }' \
  > "$work/exports"
grep -vE '^(keyward::|kw_|KEYWARD_|typeinfo (name )?for keyward::|vtable for keyward::)' "$work/exports" > "$work/foreign" || true
[ ! -s "$work/foreign" ] && pass "libkeyward.so exports only keyward:: and kw_ symbols ($(wc -l < "$work/exports"))" \
  || { flunk "libkeyward.so exports foreign symbols"; head -5 "$work/foreign" | sed 's/^/     | /'; }
grep -E '^keyward::(hierarchy|p11|envelope|catalog|cli)::' "$work/exports" > "$work/internal" || true
[ ! -s "$work/internal" ] && pass "no internal namespace is exported" \
  || { flunk "internal symbols exported"; head -5 "$work/internal" | sed 's/^/     | /'; }
grep -q '^keyward::Client::open' "$work/exports" && pass "keyward::Client::open is exported" || flunk "Client::open not exported"

# --- build the examples against the prefix ----------------------------------------------------
expect_status 0 "examples configure with find_package(keyward)" -- \
  cmake -S "$src/examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
expect_status 0 "examples build (shared and static)" -- cmake --build "$work/examples" -j 2
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
expect_status 0 "file_encryptor builds with pkg-config" -- bash -c \
  "g++ -O2 -o '$work/file_encryptor_pc' '$src/examples/file_encryptor/main.cc' \$(pkg-config --cflags --libs keyward) -Wl,-rpath,'$prefix/lib'"
# ldd's output goes to a file first: `ldd | grep -q` under pipefail fails when grep exits early.
ldd "$work/examples/file_encryptor" > "$work/ldd.shared"
ldd "$work/examples/file_encryptor_static" > "$work/ldd.static"
grep -qF "$prefix/lib/libkeyward.so" "$work/ldd.shared" \
  && pass "the find_package build runs on the installed libkeyward.so" || flunk "file_encryptor does not use $prefix/lib"
grep -q libkeyward "$work/ldd.static" && flunk "the static build needs libkeyward.so" \
  || pass "the static build carries keyward inside"

# --- run them on a fresh token, with the installed tools --------------------------------------
bin="$prefix/bin"
new_token_dir tok keyward-examples
"$bin/keyward-ceremony" init --transcript "$work/t.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create files --transcript "$work/t.jsonl" >/dev/null
"$bin/keyward-ceremony" kek create users --transcript "$work/t.jsonl" >/dev/null
export KEYWARD_CATALOG="$work/catalog.db"

head -c 3000000 /dev/urandom > "$work/report.bin"
for variant in file_encryptor file_encryptor_static file_encryptor_pc; do
  exe="$work/examples/$variant"; [ -x "$exe" ] || exe="$work/$variant"
  rm -f "$work/report.kw" "$work/report.out"
  expect_status 0 "$variant encrypts a file" -- "$exe" encrypt files "$work/report.bin" "$work/report.kw" purpose=report
  expect_status 0 "$variant decrypts it" -- "$exe" decrypt "$work/report.kw" "$work/report.out" purpose=report
  cmp -s "$work/report.bin" "$work/report.out" && pass "$variant: the round trip is exact" || flunk "$variant: round trip differs"
done
expect_status 0 "info names the KEK" -- "$work/examples/file_encryptor" info "$work/report.kw"
expect_grep '^kek files v1, dek [0-9a-f]{32}$' "$work/last.out" "info prints family, version and DEK id"
rm -f "$work/report.out"
expect_status 1 "a wrong context is refused" -- "$work/examples/file_encryptor" decrypt "$work/report.kw" "$work/report.out" purpose=other
[ ! -e "$work/report.out" ] && pass "nothing is written on a refused decrypt" || flunk "output left behind"
cp "$work/report.kw" "$work/tampered.kw"
printf '\x55' | dd of="$work/tampered.kw" bs=1 seek=2000000 conv=notrunc status=none
expect_status 1 "a tampered envelope is refused" -- "$work/examples/file_encryptor" decrypt "$work/tampered.kw" "$work/t.out"
expect_status 2 "bad usage exits 2" -- "$work/examples/file_encryptor" encrypt files
expect_status 3 "an unreachable token exits 3" -- env KEYWARD_TOKEN="pkcs11:token=no-such-token?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:$work/tok/user.pin" \
  "$work/examples/file_encryptor" info "$work/report.kw"

table="$work/users.db"
et="$work/examples/email_table"
expect_status 0 "email_table adds a user" -- "$et" "$table" add alice alice@example.com "likes tea"
expect_status 0 "and another" -- "$et" "$table" add bob bob@example.com "likes coffee"
expect_status 0 "and a third" -- "$et" "$table" add carol alice@example.com "shares alice's address"
expect_status 0 "finds users by email" -- "$et" "$table" find alice@example.com
expect_grep '^alice <alice@example.com> likes tea$' "$work/last.out" "the first match, decrypted"
expect_grep '^carol <alice@example.com> shares' "$work/last.out" "the second match"
expect_grep '^2 users$' "$work/last.out" "exactly the two rows with that email"
expect_status 0 "an unknown email finds no one" -- "$et" "$table" find nobody@example.com
expect_grep '^0 users$' "$work/last.out" "no match"
expect_status 0 "lists every user" -- "$et" "$table" list
expect_grep '^3 users$' "$work/last.out" "three rows"
if grep -a -q -e 'example.com' -e 'likes tea' -e 'coffee' "$table"; then flunk "the database file holds plaintext"
else pass "the database file holds no email or note in the clear"; fi
# The C and Python tables (C ABI, Python package) read and write the same rows as the C++ one.
etc="$work/examples/email_table_c"
etpy() { env -u KEYWARD_LIBRARY PYTHONPATH="$prefix/lib/python3/dist-packages" python3 "$src/examples/email_table_py/email_table.py" "$@"; }
no_token="pkcs11:token=no-such-token?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:$work/tok/user.pin"
etpy_no_token() { KEYWARD_TOKEN="$no_token" etpy "$@"; }
expect_status 0 "email_table_c adds a user" -- "$etc" "$table" add dave dave@example.com "likes C"
expect_status 0 "email_table_c finds the C++ rows" -- "$etc" "$table" find alice@example.com
expect_grep '^carol <alice@example.com> shares' "$work/last.out" "a C++ row, decrypted in C"
expect_grep '^2 users$' "$work/last.out" "both alice rows"
expect_status 0 "email_table.py (the installed package, no KEYWARD_LIBRARY) adds a user" -- etpy "$table" add erin erin@example.com "likes Python"
expect_status 0 "email_table.py finds the C row" -- etpy "$table" find dave@example.com
expect_grep '^dave <dave@example.com> likes C$' "$work/last.out" "a C row, decrypted in Python"
expect_status 0 "email_table.py lists every row" -- etpy "$table" list
expect_grep '^5 users$' "$work/last.out" "five rows from three languages"
expect_status 0 "email_table (C++) finds the Python row" -- "$et" "$table" find erin@example.com
expect_grep '^erin <erin@example.com> likes Python$' "$work/last.out" "a Python row, decrypted in C++"
expect_status 2 "email_table_c: bad usage exits 2" -- "$etc" "$table" add x
expect_status 2 "email_table.py: bad usage exits 2" -- etpy "$table" find
expect_status 3 "email_table.py: an unreachable token exits 3" -- etpy_no_token "$table" list
expect_status 3 "email_table_c: an unreachable token exits 3" -- env KEYWARD_TOKEN="$no_token" "$etc" "$table" list
if grep -a -q -e 'dave@' -e 'likes C' -e 'erin@' "$table"; then flunk "the C or Python rows hold plaintext"
else pass "the C and Python rows hold no email or note in the clear"; fi

# A note pasted into the email column fails: each column binds its name as context.
sqlite3 "$table" "UPDATE users SET email = (SELECT note FROM users WHERE name = 'bob') WHERE name = 'alice'"
expect_status 1 "a value moved to another column is refused" -- "$et" "$table" list
expect_grep 'authentication' "$work/last.err" "as an authentication failure"

finish
