// Initialising a fresh token for `init` and `recover` (--so-pin-source).
#pragma once

#include <string>

#include "base/error.h"

namespace keyward::cli {

// Initialises the module's free slot with the label named by the URI's token=, the SO PIN read
// from `so_pin_source`, and a new random user PIN written (0600, never overwriting) to the URI's
// pin-source file or to `user_pin_out`. Refuses a label that already exists. Returns a message
// saying where the user PIN went.
Result<std::string> initialize_token_from_uri(const std::string& uri_text, const std::string& so_pin_source,
                                              const std::string& user_pin_out);

}  // namespace keyward::cli
