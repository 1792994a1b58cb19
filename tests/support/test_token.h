// Fresh tokens for tests: a project-local SoftHSM token (default) or an NSS softoken database,
// chosen by KEYWARD_TEST_MODULE=softhsm|nss. Created once per test process under KEYWARD_TEST_TMP,
// never in $HOME or /var/lib/softhsm.
#pragma once

#include <memory>
#include <string>

#include "pkcs11/connection.h"
#include "pkcs11/module.h"
#include "pkcs11/token_uri.h"

namespace keyward::testing {

enum class ModuleKind { softhsm, nss };

ModuleKind module_under_test();
const char* module_kind_name(ModuleKind kind);

struct TestToken {
  std::string label;
  std::string uri;             // with module-path, pin-source (and x-init-reserved for NSS)
  std::string dir;             // where its files live
  std::string user_pin_file;   // mode 0600
  std::string so_pin_file;     // mode 0600 (SoftHSM only)
  std::string module_path;

  p11::TokenUri parsed_uri() const;
  // The URI with pin-source replaced by another file (e.g. holding a wrong PIN).
  std::string uri_with_pin_file(const std::string& pin_file) const;
};

// The process's main test token (created on first call). Aborts the test run if it cannot be made.
const TestToken& test_token();

// The loaded module of the test token (kept alive for the whole process, so that handles stay valid).
std::shared_ptr<p11::Module> test_module();

// A logged-in connection to the test token.
std::shared_ptr<p11::Connection> connect_test_token();

// Another freshly initialised token in the same module, for tests that need a second, empty token
// (recovery, import). SoftHSM only: NSS softoken has a single database token per directory.
bool can_make_more_tokens();
TestToken make_another_token(const std::string& label);

// A fresh, empty, uninitialised-token SoftHSM slot for tests that exercise initialisation
// themselves: returns the SO PIN file path to use; the label is up to the caller.
std::string scratch_dir(const std::string& name);

// Writes `text` to a new file with mode 0600 and returns its path.
std::string write_private_file(const std::string& path, const std::string& text);

// Runs a shell command, returns its exit status and (optionally) its stdout.
int run_command(const std::string& command, std::string* out_stdout = nullptr);

}  // namespace keyward::testing
