/* email_table in C (keyward's C ABI, <keyward/keyward_c.h>): the same users table as the C++ example
 * (examples/email_table), with the same scope, contexts and SQLite schema, so the two read each
 * other's rows. The email column is deterministic (searchable by equality), the note randomized.
 *
 *   email_table_c DB add NAME EMAIL NOTE
 *   email_table_c DB find EMAIL
 *   email_table_c DB list
 *
 * The token comes from $KEYWARD_TOKEN, the DEK catalog from $KEYWARD_CATALOG, the KEK family from
 * $EMAIL_TABLE_KEK (default "users"). Exit codes as keyward's tools: 0, 1 failed, 2 usage, 3 token.
 * Unlike the C++ example's lookup_values, find searches with the scope's current DEK only. */
#include <keyward/keyward_c.h>
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kScope = "app:email_table/users";
static const char *const kEmailContext[] = {"table", "users", "column", "email", NULL};
static const char *const kNoteContext[] = {"table", "users", "column", "note", NULL};

static int usage(void) {
  fprintf(stderr, "usage: email_table_c DB add NAME EMAIL NOTE | email_table_c DB find EMAIL | email_table_c DB list\n");
  return 2;
}

static int keyward_failed(int status) {
  fprintf(stderr, "email_table_c: %s\n", kw_last_error());
  return status;
}

static int database_failed(sqlite3 *db, const char *what) {
  fprintf(stderr, "email_table_c: %s: %s\n", what, sqlite3_errmsg(db));
  return 1;
}

static int encrypt(kw_client *client, const char *kek, int deterministic, const char *value,
                   const char *const *context, char **text) {
  return kw_field_encrypt(client, kScope, kek, deterministic, (const unsigned char *)value, strlen(value), context,
                          text);
}

/* Prints one row (name, email text, note text), decrypting its two fields. */
static int print_row(kw_client *client, sqlite3_stmt *row) {
  unsigned char *email = NULL, *note = NULL;
  size_t email_len = 0, note_len = 0;
  int status = kw_field_decrypt(client, (const char *)sqlite3_column_text(row, 1), kScope, kEmailContext, &email,
                                &email_len);
  if (status == KW_OK)
    status = kw_field_decrypt(client, (const char *)sqlite3_column_text(row, 2), kScope, kNoteContext, &note, &note_len);
  if (status == KW_OK)
    printf("%s <%.*s> %.*s\n", (const char *)sqlite3_column_text(row, 0), (int)email_len, (const char *)email,
           (int)note_len, (const char *)note);
  else
    fprintf(stderr, "email_table_c: user %s: %s\n", (const char *)sqlite3_column_text(row, 0), kw_last_error());
  kw_free(email); /* wipes the decrypted values */
  kw_free(note);
  return status;
}

static int add(kw_client *client, sqlite3 *db, const char *kek, char **args) {
  char *email = NULL, *note = NULL;
  sqlite3_stmt *insert = NULL;
  int status = encrypt(client, kek, 1, args[1], kEmailContext, &email);
  if (status == KW_OK) status = encrypt(client, kek, 0, args[2], kNoteContext, &note);
  if (status != KW_OK) {
    keyward_failed(status);
  } else if (sqlite3_prepare_v2(db, "INSERT INTO users (name, email, note) VALUES (?, ?, ?)", -1, &insert, NULL) !=
                 SQLITE_OK ||
             sqlite3_bind_text(insert, 1, args[0], -1, SQLITE_TRANSIENT) != SQLITE_OK ||
             sqlite3_bind_text(insert, 2, email, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
             sqlite3_bind_text(insert, 3, note, -1, SQLITE_TRANSIENT) != SQLITE_OK || sqlite3_step(insert) != SQLITE_DONE) {
    status = database_failed(db, "adding a user");
  } else {
    printf("added %s\n", args[0]);
  }
  sqlite3_finalize(insert);
  kw_free(email);
  kw_free(note);
  return status;
}

/* find (email != NULL: the rows whose email text equals its deterministic text) or list (NULL). */
static int select_users(kw_client *client, sqlite3 *db, const char *kek, const char *email) {
  char *email_text = NULL;
  sqlite3_stmt *select = NULL;
  int status = KW_OK, step, users = 0;
  const char *sql = email != NULL ? "SELECT name, email, note FROM users WHERE email = ? ORDER BY id"
                                  : "SELECT name, email, note FROM users ORDER BY id";
  if (email != NULL && (status = encrypt(client, kek, 1, email, kEmailContext, &email_text)) != KW_OK)
    return keyward_failed(status);
  if (sqlite3_prepare_v2(db, sql, -1, &select, NULL) != SQLITE_OK ||
      (email_text != NULL && sqlite3_bind_text(select, 1, email_text, -1, SQLITE_TRANSIENT) != SQLITE_OK)) {
    status = database_failed(db, "searching users");
  } else {
    while (status == KW_OK && (step = sqlite3_step(select)) == SQLITE_ROW) {
      status = print_row(client, select);
      users++;
    }
    if (status == KW_OK && step != SQLITE_DONE) status = database_failed(db, "searching users");
    if (status == KW_OK) printf("%d %s\n", users, users == 1 ? "user" : "users");
  }
  sqlite3_finalize(select);
  kw_free(email_text);
  return status;
}

int main(int argc, char **argv) {
  const char *kek = getenv("EMAIL_TABLE_KEK");
  kw_client *client = NULL;
  sqlite3 *db = NULL;
  int status;
  if (argc < 3) return usage();
  if (!((strcmp(argv[2], "add") == 0 && argc == 6) || (strcmp(argv[2], "find") == 0 && argc == 4) ||
        (strcmp(argv[2], "list") == 0 && argc == 3)))
    return usage();
  if (kek == NULL || *kek == '\0') kek = "users";

  status = kw_open(NULL, NULL, &client);
  if (status != KW_OK) return keyward_failed(status);
  if (sqlite3_open(argv[1], &db) != SQLITE_OK ||
      sqlite3_exec(db,
                   "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, "
                   "note TEXT NOT NULL); CREATE INDEX IF NOT EXISTS users_email ON users(email)",
                   NULL, NULL, NULL) != SQLITE_OK) {
    status = database_failed(db, argv[1]);
  } else if (strcmp(argv[2], "add") == 0) {
    status = add(client, db, kek, argv + 3);
  } else {
    status = select_users(client, db, kek, strcmp(argv[2], "find") == 0 ? argv[3] : NULL);
  }
  sqlite3_close(db);
  kw_close(client);
  return status;
}
