#include "keyward/internal/client_locations.h"

#include <algorithm>

#include "catalog/catalog_location.h"

#include <cstdlib>
#include <sstream>
#include <vector>

namespace keyward::internal {
namespace {

std::vector<std::string> split_on_whitespace(const std::string& text) {
  std::istringstream words(text);
  std::vector<std::string> out;
  for (std::string word; words >> word;) out.push_back(word);
  return out;
}

}  // namespace

Result<std::vector<p11::TokenUri>> choose_token_uris(const ClientOptions& options) {
  const bool from_environment = options.token_uris.empty();
  std::vector<std::string> uris = options.token_uris;
  if (from_environment) {
    if (const char* env = std::getenv("KEYWARD_TOKEN")) uris = split_on_whitespace(env);
  }
  if (uris.empty() || uris.front().empty())
    return make_error(ErrorCategory::usage, "no token given: set ClientOptions::token_uris or KEYWARD_TOKEN");
  std::vector<std::string> distinct;
  for (const auto& uri : uris)
    if (std::find(distinct.begin(), distinct.end(), uri) == distinct.end()) distinct.push_back(uri);
  std::vector<p11::TokenUri> parsed;
  for (const auto& text : distinct) {
    KW_ASSIGN_OR_RETURN(auto uri, p11::TokenUri::parse(text));
    if (!from_environment && uri.has_pin_value() && !options.allow_pin_value)
      return make_error(ErrorCategory::usage,
                        "refusing pin-value in a token URI: it puts the PIN in the program's configuration; use "
                        "pin-source=file:PATH (or env:NAME)");
    parsed.push_back(std::move(uri));
  }
  return parsed;
}

Result<std::string> choose_catalog(const ClientOptions& options) {
  std::string location = options.catalog;
  if (location.empty()) {
    const char* env = std::getenv("KEYWARD_CATALOG");
    location = env != nullptr && *env != '\0' ? env : "keyward-catalog.db";
  }
  KW_TRY(hierarchy::check_catalog_location(location));  // a PostgreSQL URI, or a SQLite path; never a password
  return location;
}

}  // namespace keyward::internal
