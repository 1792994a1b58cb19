// Opening a token for work: a logged-in connection, a session pool on it and the key hierarchy
// over the pool. What every tool and the public API do first, in one place.
#pragma once

#include <cstddef>
#include <memory>

#include "base/error.h"
#include "hierarchy/key_hierarchy.h"
#include "pkcs11/connection.h"
#include "pkcs11/session_pool.h"
#include "pkcs11/token_uri.h"

namespace keyward::hierarchy {

struct OpenedToken {
  std::shared_ptr<p11::Connection> connection;
  std::shared_ptr<p11::SessionPool> pool;
  std::unique_ptr<KeyHierarchy> hierarchy;
};

struct TokenOpenOptions {
  bool allow_pin_prompt = false;  // ask on the terminal when the URI names no PIN (interactive tools only)
  std::size_t max_sessions = 4;
  HierarchyOptions hierarchy;
};

// A failure to reach the token (module load, no matching token, PIN source, login) as the
// infrastructure error it is (category token, exit 3); usage errors stay usage errors.
Error as_infrastructure_error(Error error);

// Loads the URI's module, finds its token, reads the PIN from the URI's pin-source (or pin-value, or a
// prompt if allowed), logs in and builds the hierarchy. Errors: usage or token (see above).
Result<OpenedToken> open_hierarchy(const p11::TokenUri& uri, const TokenOpenOptions& options = {});

}  // namespace keyward::hierarchy
