// Initialising a fresh token for a ceremony (init and recover with --so-pin-source).
#pragma once

#include <string>

#include "base/error.h"
#include "pkcs11/token_uri.h"

namespace keyward::ceremony {

struct FreshToken {
  std::string description;    // label, serial, model, as the token reports them
  std::string user_pin_file;  // where the new user PIN was written (mode 0600)
};

// Initialises the module's free slot with the label named by `uri`'s token=, the SO PIN read from
// `so_pin_source`, and a new random user PIN written (0600, never overwriting) to the URI's
// pin-source file or to `user_pin_out`. The PIN file is written first and removed again if the token
// cannot be initialised. Errors: usage when the URI names no label or no PIN file; token when the
// label exists or the module refuses.
Result<FreshToken> initialize_fresh_token_for(const p11::TokenUri& uri, const std::string& so_pin_source,
                                              const std::string& user_pin_out);

}  // namespace keyward::ceremony
