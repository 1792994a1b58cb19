// Internal to the public API: where a Client's token and catalog are, from ClientOptions and the
// environment (shared INTERFACE: KEYWARD_TOKEN, KEYWARD_CATALOG, keyward-catalog.db).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "keyward/client_options.h"
#include "pkcs11/token_uri.h"

namespace keyward::internal {

// The token URIs: options.token_uris, else the whitespace-separated URIs of $KEYWARD_TOKEN. Identical
// URIs count once; different ones are a set of tokens holding the same keys (failover). A pin-value
// is refused in options.token_uris unless options.allow_pin_value. Errors: usage.
Result<std::vector<p11::TokenUri>> choose_token_uris(const ClientOptions& options);

// options.catalog, else $KEYWARD_CATALOG, else keyward-catalog.db. Errors: usage for a PostgreSQL
// URI (not supported by this release).
Result<std::string> choose_catalog(const ClientOptions& options);

}  // namespace keyward::internal
