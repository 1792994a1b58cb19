// A users table whose email column is encrypted but still searchable by equality, and whose note
// column is encrypted with a fresh nonce per value. The database holds only field-value texts: a
// copy of the file reveals neither emails nor notes.
#pragma once

#include <keyward/keyward.h>
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

struct User {
  std::string name;
  std::string email;
  std::string note;
};

class UserTable {
 public:
  // Opens (creating if needed) the SQLite file and makes the two column ciphers.
  static keyward::Result<UserTable> open(const keyward::Client& client, const std::string& path,
                                         const std::string& kek_family);

  keyward::Status add(const User& user);
  // Every user with this email: the query compares ciphertexts, the email is never decrypted to search.
  keyward::Result<std::vector<User>> find_by_email(const std::string& email);
  keyward::Result<std::vector<User>> all();

 private:
  UserTable() = default;
  keyward::Result<User> decrypt_row(sqlite3_stmt* row);

  struct Close {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
  };
  std::unique_ptr<sqlite3, Close> db_;
  std::optional<keyward::Field> email_;
  std::optional<keyward::Field> note_;
};
