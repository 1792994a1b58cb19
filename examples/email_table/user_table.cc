#include "user_table.h"

#include <string_view>

namespace {

// The DEK scope of the table: one DEK for both columns of this app's users. A multi-tenant app
// would put the tenant in the scope, and a value copied across tenants would then be refused.
constexpr const char* kScope = "app:email_table/users";

keyward::Error database_error(sqlite3* db, std::string_view what) {
  return keyward::Error{keyward::ErrorCategory::io, std::string(what) + ": " + sqlite3_errmsg(db), std::nullopt};
}

struct Finalize {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, Finalize>;

keyward::Result<Statement> prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) != SQLITE_OK) return std::unexpected(database_error(db, sql));
  return Statement(statement);
}

std::string column_text(sqlite3_stmt* row, int column) {
  const auto* text = sqlite3_column_text(row, column);
  return text ? std::string(reinterpret_cast<const char*>(text)) : std::string();
}

std::string as_string(const std::vector<std::uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

}  // namespace

keyward::Result<UserTable> UserTable::open(const keyward::Client& client, const std::string& path,
                                           const std::string& kek_family) {
  UserTable table;
  sqlite3* db = nullptr;
  const int opened = sqlite3_open(path.c_str(), &db);
  table.db_.reset(db);
  if (opened != SQLITE_OK) return std::unexpected(database_error(db, "opening " + path));
  if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                       "email TEXT NOT NULL, note TEXT NOT NULL); CREATE INDEX IF NOT EXISTS users_email ON users(email)",
                   nullptr, nullptr, nullptr) != SQLITE_OK)
    return std::unexpected(database_error(db, "creating the users table"));

  // Each column binds its name as context: an email text pasted into the note column fails.
  auto email = client.field({.scope = kScope, .kek_family = kek_family, .mode = keyward::FieldMode::deterministic,
                             .context = {{"table", "users"}, {"column", "email"}}});
  if (!email) return std::unexpected(email.error());
  auto note = client.field({.scope = kScope, .kek_family = kek_family, .mode = keyward::FieldMode::randomized,
                            .context = {{"table", "users"}, {"column", "note"}}});
  if (!note) return std::unexpected(note.error());
  table.email_ = *email;
  table.note_ = *note;
  return table;
}

keyward::Status UserTable::add(const User& user) {
  auto email = email_->encrypt(user.email);
  if (!email) return std::unexpected(email.error());
  auto note = note_->encrypt(user.note);
  if (!note) return std::unexpected(note.error());
  auto insert = prepare(db_.get(), "INSERT INTO users (name, email, note) VALUES (?, ?, ?)");
  if (!insert) return std::unexpected(insert.error());
  sqlite3_bind_text(insert->get(), 1, user.name.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(insert->get(), 2, email->c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(insert->get(), 3, note->c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(insert->get()) != SQLITE_DONE) return std::unexpected(database_error(db_.get(), "adding a user"));
  return {};
}

keyward::Result<User> UserTable::decrypt_row(sqlite3_stmt* row) {
  User user{column_text(row, 0), {}, {}};
  auto email = email_->decrypt(column_text(row, 1));
  if (!email) return std::unexpected(email.error().with_context("user " + user.name + ", email: "));
  auto note = note_->decrypt(column_text(row, 2));
  if (!note) return std::unexpected(note.error().with_context("user " + user.name + ", note: "));
  user.email = as_string(email->value);
  user.note = as_string(note->value);
  return user;
}

keyward::Result<std::vector<User>> UserTable::find_by_email(const std::string& email) {
  // One ciphertext per DEK the scope has had (after a DEK replacement, older rows keep the older one).
  auto candidates = email_->lookup_values(email);
  if (!candidates) return std::unexpected(candidates.error());
  std::vector<User> users;
  auto select = prepare(db_.get(), "SELECT name, email, note FROM users WHERE email = ? ORDER BY id");
  if (!select) return std::unexpected(select.error());
  for (const auto& candidate : *candidates) {
    sqlite3_reset(select->get());
    sqlite3_bind_text(select->get(), 1, candidate.text.c_str(), -1, SQLITE_TRANSIENT);
    int step;
    while ((step = sqlite3_step(select->get())) == SQLITE_ROW) {
      auto user = decrypt_row(select->get());
      if (!user) return std::unexpected(user.error());
      users.push_back(std::move(*user));
    }
    if (step != SQLITE_DONE) return std::unexpected(database_error(db_.get(), "searching users"));
  }
  return users;
}

keyward::Result<std::vector<User>> UserTable::all() {
  std::vector<User> users;
  auto select = prepare(db_.get(), "SELECT name, email, note FROM users ORDER BY id");
  if (!select) return std::unexpected(select.error());
  int step;
  while ((step = sqlite3_step(select->get())) == SQLITE_ROW) {
    auto user = decrypt_row(select->get());
    if (!user) return std::unexpected(user.error());
    users.push_back(std::move(*user));
  }
  if (step != SQLITE_DONE) return std::unexpected(database_error(db_.get(), "listing users"));
  return users;
}
