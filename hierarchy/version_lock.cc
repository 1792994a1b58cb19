#include "hierarchy/version_lock.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace keyward::hierarchy {
namespace {

// FNV-1a over the token's identity: spreads tokens over lock files (not a security function).
std::string token_key(const p11::Connection& connection) {
  const auto& module = connection.token().module()->options();
  std::error_code ignored;
  const auto path = std::filesystem::weakly_canonical(module.path, ignored).string();
  const auto& info = connection.token().info();
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const std::string& part : {path, module.init_reserved.value_or(""), info.serial, info.label}) {
    for (char c : part) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    hash = (hash ^ 0xFFu) * 0x100000001b3ULL;  // separator: ("ab","c") and ("a","bc") differ
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

}  // namespace

Result<p11::ModuleStateLock> lock_version_series(const p11::Connection& connection, std::string_view series) {
  std::string name = "version-" + token_key(connection) + "-";
  for (char c : series) name += c == '/' ? '.' : c;  // KEK names are [a-z0-9_-]: safe in a file name
  return p11::ModuleStateLock::acquire_named(name, "creating the next version of " + std::string(series) +
                                                       ": a keyward process may be stuck creating a key");
}

Status require_sole_object(p11::Session& session, std::string_view label, CK_OBJECT_CLASS object_class) {
  p11::AttributeTemplate match;
  match.set_ulong(CKA_CLASS, object_class).set_string(CKA_LABEL, label);
  KW_ASSIGN_OR_RETURN(auto found, session.find_objects(match));
  if (found.size() <= 1) return {};
  return make_error(ErrorCategory::token, "another object labelled " + std::string(label) +
                                              " was created at the same time (by a process outside keyward's version lock?): "
                                              "the one just created is destroyed; run the command again");
}

Status require_no_object(p11::Session& session, std::string_view label, CK_OBJECT_CLASS object_class) {
  p11::AttributeTemplate match;
  match.set_ulong(CKA_CLASS, object_class).set_string(CKA_LABEL, label);
  KW_ASSIGN_OR_RETURN(auto found, session.find_objects(match));
  if (found.empty()) return {};
  return make_error(ErrorCategory::token, "a failed attempt left an object labelled " + std::string(label) +
                                              ": not retrying; run keyward-ceremony verify, then the command again");
}

}  // namespace keyward::hierarchy
