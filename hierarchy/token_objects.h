// Listing the objects on a token that carry keyward labels (for roots(), list_keks() and verify).
#pragma once

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
Result<std::vector<TokenObject>> list_keyward_objects(p11::Session& session);

}  // namespace keyward::hierarchy
