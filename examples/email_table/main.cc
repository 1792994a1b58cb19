// email_table: a users table in SQLite with an encrypted, equality-searchable email column.
//
//   email_table DB add NAME EMAIL NOTE
//   email_table DB find EMAIL
//   email_table DB list
//
// The token comes from $KEYWARD_TOKEN, the DEK catalog from $KEYWARD_CATALOG, the KEK family from
// $EMAIL_TABLE_KEK (default "users"). Exit codes as keyward's tools: 0, 1 failed, 2 usage, 3 token.
#include <cstdlib>
#include <iostream>
#include <span>
#include <string>
#include <string_view>

#include "user_table.h"

namespace {

int usage() {
  std::cerr << "usage: email_table DB add NAME EMAIL NOTE | email_table DB find EMAIL | email_table DB list\n";
  return 2;
}

int fail(const keyward::Error& error) {
  std::cerr << "email_table: " << keyward::category_name(error.category) << ": " << error.message << "\n";
  return error.exit_code();
}

void print(const std::vector<User>& users) {
  for (const auto& user : users) std::cout << user.name << " <" << user.email << "> " << user.note << "\n";
  std::cout << users.size() << (users.size() == 1 ? " user\n" : " users\n");
}

}  // namespace

int main(int argc, char** argv) {
  const std::span<char*> args(argv, static_cast<std::size_t>(argc));
  if (args.size() < 3) return usage();
  const std::string_view command = args[2];
  if (!((command == "add" && args.size() == 6) || (command == "find" && args.size() == 4) ||
        (command == "list" && args.size() == 3)))
    return usage();

  const char* kek = std::getenv("EMAIL_TABLE_KEK");
  auto client = keyward::Client::open();
  if (!client) return fail(client.error());
  auto table = UserTable::open(*client, args[1], kek && *kek ? kek : "users");
  if (!table) return fail(table.error());

  if (command == "add") {
    if (auto added = table->add({args[3], args[4], args[5]}); !added) return fail(added.error());
    std::cout << "added " << args[3] << "\n";
  } else {
    auto users = command == "find" ? table->find_by_email(args[3]) : table->all();
    if (!users) return fail(users.error());
    print(*users);
  }
  return 0;
}
