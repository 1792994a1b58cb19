// The keyward CLI's way into the public API: a Client for the token named by --token/KEYWARD_TOKEN.
#pragma once

#include "keyward/keyward.h"
#include "tools/common/token_context.h"

namespace keyward::cli {

// Applies the command line's token rules (a URI is required; no pin-value on argv), then opens a
// Client with `options` (token and PIN settings filled in here; a PIN prompt only on a terminal).
Result<Client> open_client(const TokenOptions& token, ClientOptions options = {});

}  // namespace keyward::cli
