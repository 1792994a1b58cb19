#include "tools/common/cli.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <vector>
#include <iostream>

#include "base/secret_bytes.h"

namespace keyward::cli {
namespace {
bool token_from_argv = false;
}

void add_token_option(CLI::App& command, std::string& out_uri) {
  command
      .add_option_function<std::vector<std::string>>(
          "--token",
          [&out_uri](const std::vector<std::string>& values) {
            // Repeated --token: a set of tokens holding the same keys, kept space-separated as in KEYWARD_TOKEN.
            out_uri.clear();
            for (const auto& value : values) out_uri += (out_uri.empty() ? "" : " ") + value;
            token_from_argv = true;
          },
          "PKCS#11 URI of the token (RFC 7512), e.g. pkcs11:token=keyward-dev?pin-source=file:/path/user.pin; "
          "repeat it for a set of tokens holding the same keys (failover); default: $KEYWARD_TOKEN (URIs separated "
          "by whitespace)")
      ->type_name("URI")
      ->allow_extra_args(false);
  if (const char* from_env = std::getenv("KEYWARD_TOKEN"); from_env != nullptr && out_uri.empty()) out_uri = from_env;
}

Result<std::vector<p11::TokenUri>> parse_token_uris(const std::string& uri_text) {
  std::istringstream words(uri_text);
  std::vector<std::string> texts;
  for (std::string word; words >> word;)
    if (std::find(texts.begin(), texts.end(), word) == texts.end()) texts.push_back(word);
  if (texts.empty()) return make_error(ErrorCategory::usage, "no token given: use --token URI or set KEYWARD_TOKEN");
  std::vector<p11::TokenUri> uris;
  for (const auto& text : texts) {
    KW_ASSIGN_OR_RETURN(auto uri, p11::TokenUri::parse(text));
    if (token_from_argv && uri.has_pin_value())
      return make_error(ErrorCategory::usage,
                        "refusing pin-value in a --token URI: the command line is visible to every local user; use "
                        "pin-source=file:PATH, or put the URI in KEYWARD_TOKEN");
    uris.push_back(std::move(uri));
  }
  return uris;
}

Result<p11::TokenUri> parse_token_option(const std::string& uri_text) {
  KW_ASSIGN_OR_RETURN(auto uris, parse_token_uris(uri_text));
  if (uris.size() > 1)
    return make_error(ErrorCategory::usage, "this command works on one token: give one --token (not a set)");
  return std::move(uris.front());
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
