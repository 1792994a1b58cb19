// Where a PIN comes from: a file, an environment variable, or a prompt — never argv.
#pragma once

#include <string_view>

#include "base/error.h"
#include "base/secret_bytes.h"

namespace keyward::p11 {

// Reads a PIN from `source`:
//   file:PATH or an absolute PATH — the file's first line (a trailing newline is dropped);
//   env:NAME — the environment variable NAME;
//   prompt — asks on the controlling terminal with echo off.
// Errors: usage for an unknown form (its text is not echoed: it may be the secret given by
// mistake), io when the file or variable cannot be read, naming the file or variable (never the
// PIN). A group- or world-readable PIN file is refused.
// `what` names the secret in messages ("user PIN", "SO PIN"…; empty: "PIN").
Result<SecretBytes> read_pin(std::string_view source, std::string_view what = {});

// Whether `source` has one of the forms above, so that it may be printed. Anything else may be a
// secret given by mistake and is never shown.
bool is_pin_source_form(std::string_view source);

}  // namespace keyward::p11
