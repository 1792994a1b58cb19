#pragma once

#include <string>
#include <vector>

#include "envelope/format.h"

namespace keyward::cli {

// Parses repeated --context k=v into an encryption context. Errors: usage for a pair without '=',
// an empty key, or a key given twice.
Result<envelope::EncryptionContext> parse_context(const std::vector<std::string>& pairs);

}  // namespace keyward::cli
