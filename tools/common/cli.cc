#include "tools/common/cli.h"

#include <cstdlib>
#include <iostream>

#include "base/secret_bytes.h"

namespace keyward::cli {
namespace {
bool token_from_argv = false;
}

void add_token_option(CLI::App& command, std::string& out_uri) {
  command
      .add_option_function<std::string>(
          "--token",
          [&out_uri](const std::string& value) {
            out_uri = value;
            token_from_argv = true;
          },
          "PKCS#11 URI of the token (RFC 7512), e.g. pkcs11:token=keyward-dev?pin-source=file:/path/user.pin; "
          "default: $KEYWARD_TOKEN")
      ->type_name("URI");
  if (const char* from_env = std::getenv("KEYWARD_TOKEN"); from_env != nullptr && out_uri.empty()) out_uri = from_env;
}

Result<p11::TokenUri> parse_token_option(const std::string& uri_text) {
  if (uri_text.empty())
    return make_error(ErrorCategory::usage, "no token given: use --token URI or set KEYWARD_TOKEN");
  KW_ASSIGN_OR_RETURN(auto uri, p11::TokenUri::parse(uri_text));
  if (token_from_argv && uri.has_pin_value())
    return make_error(ErrorCategory::usage,
                      "refusing pin-value in a --token URI: the command line is visible to every local user; use "
                      "pin-source=file:PATH, or put the URI in KEYWARD_TOKEN");
  return uri;
}

int report(std::string_view tool, const Error& error) {
  std::cerr << tool << ": " << category_name(error.category) << " error: " << error.message << "\n";
  return exit_code_for(error.category);
}

void harden_process() { enable_secret_memory_protection(); }

int parse_or_exit(CLI::App& app, int argc, char** argv, bool& out_done) {
  out_done = false;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    out_done = true;
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    out_done = true;
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    out_done = true;
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    out_done = true;
    app.exit(e);
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace keyward::cli
