// The KW fingerprint computed on the CPU from key bytes (recovery checks shares before touching a
// token): RFC 3394 wrap of the published canary under the key, first 8 bytes, hex.
#pragma once

#include <string>

#include "base/error.h"
#include "base/secret_bytes.h"

namespace keyward::ceremony {

Result<std::string> kw_fingerprint_of(const SecretBytes& key);

}  // namespace keyward::ceremony
