// The encryption context: key=value pairs bound to a ciphertext as associated data. Decryption needs
// the same pairs, so a value or file copied to another row, tenant or purpose fails authentication.
// Keys may not be empty. The pairs are not secret: inspect shows a file's context.
#pragma once

#include <map>
#include <string>

namespace keyward {

using EncryptionContext = std::map<std::string, std::string>;

}  // namespace keyward
