// Listing the objects on a token that carry keyward labels (for roots(), list_keks() and verify).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hierarchy/labels.h"
#include "pkcs11/session.h"

namespace keyward::hierarchy {

struct TokenObject {
  p11::ObjectHandle handle = 0;
  CK_OBJECT_CLASS object_class = 0;
  std::string label;
  std::optional<ParsedLabel> parsed;  // nullopt: starts with keyward/ but does not follow the scheme
};

// Every object whose label starts with "keyward/" (one object search; keep token objects few).
// An object destroyed by another session or process between the search and the attribute reads
// (CKR_OBJECT_HANDLE_INVALID) is left out, not an error: the listing is a snapshot. Callers that
// use a handle later must still expect it to vanish.
Result<std::vector<TokenObject>> list_keyward_objects(p11::Session& session);

// True for the error of using an object another session or process destroyed (a handle from a
// listing that has gone stale): CKR_OBJECT_HANDLE_INVALID or CKR_KEY_HANDLE_INVALID and the
// wrapping-key forms of it.
bool is_vanished_object(const Error& error);

// How many listings this process made (a full token scan each): for tests that prove a hot path
// makes none. Thread-safe.
std::uint64_t token_object_listings();

}  // namespace keyward::hierarchy
