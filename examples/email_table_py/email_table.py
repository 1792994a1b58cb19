#!/usr/bin/env python3
"""email_table in Python (the ``keyward`` package): the same users table as the C++ example
(examples/email_table), with the same scope, contexts and SQLite schema, so the three read each
other's rows. The email column is deterministic (searchable by equality), the note randomized.

    email_table.py DB add NAME EMAIL NOTE
    email_table.py DB find EMAIL
    email_table.py DB list

The token comes from $KEYWARD_TOKEN, the DEK catalog from $KEYWARD_CATALOG, the KEK family from
$EMAIL_TABLE_KEK (default "users"). Exit codes as keyward's tools: 0, 1 failed, 2 usage, 3 token.
Unlike the C++ example's lookup_values, find searches with the scope's current DEK only.
"""

import os
import sqlite3
import sys

import keyward

SCOPE = "app:email_table/users"
EMAIL = {"table": "users", "column": "email"}
NOTE = {"table": "users", "column": "note"}
USAGE = "usage: email_table.py DB add NAME EMAIL NOTE | email_table.py DB find EMAIL | email_table.py DB list"


def print_users(kw: keyward.Client, rows: list) -> None:
    # One library call per column for the whole result, not one per value.
    emails = kw.field_decrypt_many([row[1] for row in rows], EMAIL, scope=SCOPE)
    notes = kw.field_decrypt_many([row[2] for row in rows], NOTE, scope=SCOPE)
    for (name, _, _), email, note in zip(rows, emails, notes):
        print(f"{name} <{email.decode()}> {note.decode()}")
    print(f"{len(rows)} {'user' if len(rows) == 1 else 'users'}")


def main(args: list) -> int:
    if len(args) < 2 or (args[1], len(args)) not in (("add", 5), ("find", 3), ("list", 2)):
        print(USAGE, file=sys.stderr)
        return 2
    kek = os.environ.get("EMAIL_TABLE_KEK") or "users"
    db = sqlite3.connect(args[0])
    db.executescript("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                     "email TEXT NOT NULL, note TEXT NOT NULL); "
                     "CREATE INDEX IF NOT EXISTS users_email ON users(email)")
    with keyward.Client() as kw:
        if args[1] == "add":
            name, email, note = args[2:]
            row = (name, kw.field_encrypt(SCOPE, kek, email.encode(), EMAIL, deterministic=True),
                   kw.field_encrypt(SCOPE, kek, note.encode(), NOTE))
            with db:
                db.execute("INSERT INTO users (name, email, note) VALUES (?, ?, ?)", row)
            print(f"added {name}")
        elif args[1] == "find":
            wanted = kw.field_encrypt(SCOPE, kek, args[2].encode(), EMAIL, deterministic=True)
            print_users(kw, db.execute("SELECT name, email, note FROM users WHERE email = ? ORDER BY id",
                                       (wanted,)).fetchall())
        else:
            print_users(kw, db.execute("SELECT name, email, note FROM users ORDER BY id").fetchall())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except keyward.Error as error:
        print(f"email_table.py: {error.message}", file=sys.stderr)
        sys.exit(error.code)
    except sqlite3.Error as error:
        print(f"email_table.py: database: {error}", file=sys.stderr)
        sys.exit(1)
