#include "tests/failover/token_pair.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "hierarchy/open_hierarchy.h"

namespace keyward::failover_testing {
namespace {

std::string fault_dir() {
  static const std::string dir = keyward::testing::scratch_dir("faults");
  return dir;
}

std::string through_fault_module(const keyward::testing::TestToken& token) {
  std::string uri = token.uri;
  const std::string key = "module-path=" + token.module_path;
  auto at = uri.find(key);
  EXPECT_NE(at, std::string::npos) << "the test token's URI names its module";
  if (at != std::string::npos) uri.replace(at, key.size(), std::string("module-path=") + KEYWARD_FAULT_MODULE_PATH);
  return uri;
}

Status import_root(const keyward::testing::TestToken& token, const SecretBytes& material) {
  KW_ASSIGN_OR_RETURN(auto opened, hierarchy::open_hierarchy(token.parsed_uri()));
  KW_TRY(opened.hierarchy->import_root(material));
  return {};
}

}  // namespace

void configure_fault_module() {
  static const bool done = [] {
    ::setenv("KEYWARD_FAULT_MODULE", keyward::testing::test_token().module_path.c_str(), 1);
    ::setenv("KEYWARD_FAULT_TOKEN", "fb-*", 1);
    ::setenv("KEYWARD_FAULT_DOWN_FILE", down_file().c_str(), 1);
    ::setenv("KEYWARD_FAULT_HANG_FILE", hang_file().c_str(), 1);
    ::setenv("KEYWARD_FAULT_COUNT_FILE", count_file().c_str(), 1);
    return true;
  }();
  (void)done;
}

std::string down_file() { return fault_dir() + "/token-b-down"; }
std::string hang_file() { return fault_dir() + "/token-b-hung"; }
std::string count_file() { return fault_dir() + "/injected"; }

std::size_t injected_faults() {
  std::ifstream in(count_file());
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

void pull_token_b() { keyward::testing::write_private_file(down_file(), "down\n"); }
void hang_token_b() { keyward::testing::write_private_file(hang_file(), "hung\n"); }
void unhang_token_b() { ::unlink(hang_file().c_str()); }
void restore_token_b() { ::unlink(down_file().c_str()); }

std::vector<p11::TokenUri> TokenPair::uris() const {
  std::vector<p11::TokenUri> out;
  for (const auto& text : {uri_a, uri_b}) {
    auto parsed = p11::TokenUri::parse(text);
    EXPECT_TRUE(parsed) << parsed.error().message;
    if (parsed) out.push_back(*parsed);
  }
  return out;
}

TokenPair make_token_pair(const std::string& name, bool different_root) {
  configure_fault_module();
  TokenPair pair;
  pair.a = keyward::testing::make_another_token("fa-" + name);
  pair.b = keyward::testing::make_another_token("fb-" + name);
  pair.uri_a = through_fault_module(pair.a);
  pair.uri_b = through_fault_module(pair.b);
  auto material = [&]() -> Result<SecretBytes> {
    KW_ASSIGN_OR_RETURN(auto opened, hierarchy::open_hierarchy(pair.a.parsed_uri()));
    return opened.hierarchy->root_material_from_token_rng();
  };
  auto shared = material();
  EXPECT_TRUE(shared) << shared.error().message;
  if (!shared) return pair;
  auto a = import_root(pair.a, *shared);
  EXPECT_TRUE(a) << a.error().message;
  if (different_root) {
    auto own = material();
    EXPECT_TRUE(own);
    if (own) shared = std::move(own);
  }
  auto b = import_root(pair.b, *shared);
  EXPECT_TRUE(b) << b.error().message;
  return pair;
}

std::unique_ptr<hierarchy::TokenSet> open_set(const TokenPair& pair) {
  auto set = hierarchy::TokenSet::open(pair.uris(), hierarchy::TokenSetOptions{.open = {}, .probe_interval = std::chrono::milliseconds(50)});
  EXPECT_TRUE(set) << set.error().message;
  return set ? std::move(*set) : nullptr;
}

bool wait_for_service(const hierarchy::TokenSet& set, std::size_t index, bool in_service) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < deadline) {
    if (set.members().at(index).in_service == in_service) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace keyward::failover_testing
