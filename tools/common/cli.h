// What every keyward CLI shares: the --token option, error reporting and exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "base/error.h"
#include "pkcs11/token_uri.h"

namespace keyward::cli {

// Exit codes of shared/INTERFACE.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitToken = 3;

// Adds `--token URI` to `command`, defaulting to $KEYWARD_TOKEN.
void add_token_option(CLI::App& command, std::string& out_uri);

// Parses the token URI given by --token / KEYWARD_TOKEN. A pin-value on the command line is
// refused (argv is readable by every local user); from KEYWARD_TOKEN it is accepted.
Result<p11::TokenUri> parse_token_option(const std::string& uri_text);
// The same for commands that accept a set of tokens: every URI given (repeated --token, or the
// whitespace-separated $KEYWARD_TOKEN), each once. Errors: usage.
Result<std::vector<p11::TokenUri>> parse_token_uris(const std::string& uri_text);

// Prints "<tool>: <category>: <message>" to stderr and returns the exit code for it.
int report(std::string_view tool, const Error& error);

// Process set-up every tool does first: no core dumps, secrets in locked memory.
void harden_process();

// Runs CLI11 parsing with keyward's exit code for usage errors (2).
int parse_or_exit(CLI::App& app, int argc, char** argv, bool& out_done);

}  // namespace keyward::cli
