#include "catalog/catalog_location.h"

#include <algorithm>
#include <cctype>

#include "catalog/postgres_catalog.h"
#include "catalog/sqlite_catalog.h"

namespace keyward::hierarchy {
namespace {

bool starts_with_no_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

// RFC 3986 §2.1 percent-decoding (libpq decodes query keys and values the same way).
std::string percent_decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) && std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

struct UriParts {
  std::string_view scheme_and_slashes;  // "postgresql://"
  std::string_view userinfo;            // before '@' (may be empty)
  bool has_userinfo = false;
  std::string_view rest;                // host list, path
  std::string_view query;               // after '?', without it
};

UriParts split_uri(std::string_view uri) {
  UriParts parts;
  const auto scheme_end = uri.find("://");
  parts.scheme_and_slashes = uri.substr(0, scheme_end + 3);
  std::string_view after = uri.substr(scheme_end + 3);
  const auto question = after.find('?');
  if (question != std::string_view::npos) {
    parts.query = after.substr(question + 1);
    after = after.substr(0, question);
  }
  // RFC 3986 §3.2: the authority ends at the first '/'; user information ends at its last '@'.
  const auto authority_end = after.find('/');
  const std::string_view authority = after.substr(0, authority_end);
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    parts.has_userinfo = true;
    parts.userinfo = authority.substr(0, at);
    after = after.substr(at + 1);
  }
  parts.rest = after;
  return parts;
}

bool query_names_password(std::string_view query) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    std::string key = percent_decoded(pair.substr(0, pair.find('=')));
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    if (key == "password") return true;
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return false;
}

}  // namespace

CatalogBackend catalog_backend(std::string_view location) {
  return starts_with_no_case(location, "postgresql://") || starts_with_no_case(location, "postgres://") ? CatalogBackend::postgres
                                                                                                       : CatalogBackend::sqlite;
}

Status check_catalog_location(std::string_view location) {
  if (location.empty()) return make_error(ErrorCategory::usage, "the catalog location is empty");
  if (catalog_backend(location) != CatalogBackend::postgres) return {};
  const UriParts parts = split_uri(location);
  const bool password = (parts.has_userinfo && parts.userinfo.find(':') != std::string_view::npos) ||
                        query_names_password(parts.query);
  if (password)
    return make_error(ErrorCategory::usage,
                      "the catalog URI " + printable_catalog_location(location) +
                          " carries a password: refused (it would show in process listings and messages). Put it in "
                          "~/.pgpass or a file named by PGPASSFILE, or use a service file (PGSERVICEFILE)");
  return {};
}

std::string printable_catalog_location(std::string_view location) {
  if (catalog_backend(location) != CatalogBackend::postgres) return std::string(location);
  const UriParts parts = split_uri(location);
  std::string out(parts.scheme_and_slashes);
  if (parts.has_userinfo) out += std::string(parts.userinfo.substr(0, parts.userinfo.find(':'))) + "@";
  out += parts.rest;
  // The query may hold a host= (a socket directory) worth showing; it may also hold secrets
  // (password=, sslpassword=): show only the keys known to be harmless.
  std::string shown;
  std::string_view query = parts.query;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::string key = percent_decoded(pair.substr(0, pair.find('=')));
    if (key == "host" || key == "hostaddr" || key == "port" || key == "dbname" || key == "user" || key == "service")
      shown += (shown.empty() ? "?" : "&") + std::string(pair);
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return out + shown;
}

Result<std::unique_ptr<Catalog>> open_catalog(const std::string& location, const CatalogOpenOptions& options) {
  KW_TRY(check_catalog_location(location));
  if (catalog_backend(location) == CatalogBackend::postgres) {
    KW_ASSIGN_OR_RETURN(auto catalog, PostgresCatalog::open(location, {.read_only = options.read_only}));
    return std::unique_ptr<Catalog>(std::move(catalog));
  }
  if (options.read_only) {
    KW_ASSIGN_OR_RETURN(auto catalog, SqliteCatalog::open_read_only(location));
    return std::unique_ptr<Catalog>(std::move(catalog));
  }
  KW_ASSIGN_OR_RETURN(auto catalog, SqliteCatalog::open(location));
  return std::unique_ptr<Catalog>(std::move(catalog));
}

}  // namespace keyward::hierarchy
