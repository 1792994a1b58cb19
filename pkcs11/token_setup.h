// Setting up a fresh token: C_InitToken with the SO PIN, then C_InitPIN for the user.
#pragma once

#include <memory>
#include <string_view>

#include "base/error.h"
#include "pkcs11/module.h"
#include "base/secret_bytes.h"
#include "pkcs11/token.h"

namespace keyward::p11 {

// Initialises the first uninitialised token of `module` with `label`, the SO PIN and the user PIN,
// and returns it. Refuses (usage) when a token with that label already exists: re-initialising
// would destroy its keys.
Result<Token> initialize_fresh_token(const std::shared_ptr<Module>& module, std::string_view label,
                                     const SecretBytes& so_pin, const SecretBytes& user_pin);

// A random PIN of `length` hex characters from OpenSSL's DRBG.
Result<SecretBytes> random_pin(std::size_t length = 32);

}  // namespace keyward::p11
