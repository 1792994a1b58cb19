// Clients of the public API on the process's fresh test token (root and KEK "payments" from the
// hierarchy fixture), each with its own fresh catalog file.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "keyward/keyward.h"
#include "tests/support/hierarchy_fixture.h"

namespace keyward::api_testing {

inline std::string fresh_catalog_path(const std::string& name) {
  const std::string path = keyward::testing::scratch_dir("client") + "/" + name + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

inline ClientOptions test_options(const std::string& catalog_name) {
  ClientOptions options;
  options.token_uris = {keyward::testing::test_token().uri};
  options.catalog = fresh_catalog_path(catalog_name);
  // NSS softoken lacks some policy attributes; the hierarchy suites say which tests depend on one.
  options.accept_module_limits = keyward::testing::module_under_test() == keyward::testing::ModuleKind::nss;
  return options;
}

// A client on the test token (root and "payments" made first); fails the test if it cannot open.
inline std::optional<Client> open_test_client(const ClientOptions& options) {
  if (hierarchy::testing::hierarchy_env() == nullptr) return std::nullopt;
  auto client = Client::open(options);
  EXPECT_TRUE(client) << client.error().message;
  if (!client) return std::nullopt;
  return std::move(*client);
}
// The same with a fresh catalog named `catalog_name`.
inline std::optional<Client> open_test_client(const std::string& catalog_name) {
  return open_test_client(test_options(catalog_name));
}

// A new KEK family on the test token (version 1), through the fixture's own hierarchy.
inline bool create_kek_version(const std::string& family) {
  auto* env = hierarchy::testing::hierarchy_env();
  return env != nullptr && env->hierarchy->create_kek(family).has_value();
}

// FieldOptions for a column (g++ 12 warns about designated initializers that leave members out).
inline FieldOptions field_options(std::string scope, std::string kek_family, FieldMode mode = FieldMode::randomized,
                                  EncryptionContext context = {}) {
  FieldOptions options;
  options.scope = std::move(scope);
  options.kek_family = std::move(kek_family);
  options.mode = mode;
  options.context = std::move(context);
  return options;
}

inline std::vector<std::uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }
inline std::string text(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

}  // namespace keyward::api_testing
