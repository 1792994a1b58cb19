// file_encryptor: encrypts and decrypts files with keyward envelopes, the smallest complete app.
//
//   file_encryptor encrypt KEK_FAMILY IN OUT [key=value]...
//   file_encryptor decrypt IN OUT [key=value]...
//   file_encryptor info FILE
//
// The token comes from $KEYWARD_TOKEN (a PKCS#11 URI whose pin-source names a PIN file or variable).
// Exit codes follow keyward's tools: 0 ok, 1 failed (e.g. tampered file), 2 usage, 3 token.
#include <keyward/keyward.h>

#include <iostream>
#include <span>
#include <string>
#include <string_view>

namespace {

int usage() {
  std::cerr << "usage: file_encryptor encrypt KEK_FAMILY IN OUT [key=value]...\n"
               "       file_encryptor decrypt IN OUT [key=value]...\n"
               "       file_encryptor info FILE\n";
  return 2;
}

int fail(const keyward::Error& error) {
  std::cerr << "file_encryptor: " << keyward::category_name(error.category) << ": " << error.message << "\n";
  return error.exit_code();
}

// "key=value" arguments: the encryption context, which decrypt must repeat exactly.
bool parse_context(std::span<char*> args, keyward::EncryptionContext& context) {
  for (std::string_view arg : args) {
    const auto equals = arg.find('=');
    if (equals == std::string_view::npos || equals == 0) return false;
    context.emplace(std::string(arg.substr(0, equals)), std::string(arg.substr(equals + 1)));
  }
  return true;
}

void print(const keyward::KeyInfo& key) {
  std::cout << "kek " << key.kek_family << " v" << key.kek_version << ", dek " << key.dek_id
            << (key.under_older_kek_version ? " (under an older KEK version)" : "") << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::span<char*> args(argv, static_cast<std::size_t>(argc));
  if (args.size() < 3) return usage();
  const std::string_view command = args[1];
  const std::size_t fixed = command == "encrypt" ? 5 : command == "decrypt" ? 4 : command == "info" ? 3 : 0;
  keyward::EncryptionContext context;
  if (fixed == 0 || args.size() < fixed || (command == "info" && args.size() != 3) ||
      !parse_context(args.subspan(fixed), context))
    return usage();

  auto client = keyward::Client::open();
  if (!client) return fail(client.error());

  if (command == "encrypt") {
    auto done = client->encrypt_file(args[2], args[3], args[4], context);
    if (!done) return fail(done.error());
    std::cout << "encrypted " << done->plaintext_bytes << " bytes; ";
    print(done->key);
  } else if (command == "decrypt") {
    auto done = client->decrypt_file(args[2], args[3], context);
    if (!done) return fail(done.error());
    std::cout << "decrypted " << done->plaintext_bytes << " bytes; ";
    print(done->key);
  } else {
    auto key = client->file_key_info(args[2]);
    if (!key) return fail(key.error());
    print(*key);
  }
  return 0;
}
