// Two fresh SoftHSM tokens holding the same root, reached through the fault module
// (tests/fault_module/): the second token ("fb-…") can be pulled and restored mid-test by a file.
#pragma once

#include <string>
#include <vector>

#include "hierarchy/token_set.h"
#include "tests/support/test_token.h"

namespace keyward::failover_testing {

// The fault module's configuration for this process: faults only on tokens labelled "fb-…", the
// token gone while down_file() exists, not answering while hang_file() exists. Set before the module is first loaded (the module reads it once).
void configure_fault_module();
std::string down_file();
std::string hang_file();
std::string count_file();
// How many faults the module injected so far (lines of the count file).
std::size_t injected_faults();
void pull_token_b();
void restore_token_b();
// Token b stops answering (its calls block) until unhang_token_b().
void hang_token_b();
void unhang_token_b();

struct TokenPair {
  keyward::testing::TestToken a, b;
  std::string uri_a, uri_b;  // through the fault module
  std::vector<p11::TokenUri> uris() const;
};

// Tokens "fa-NAME" and "fb-NAME" with the same root (imported from one random material, as a
// recovery from shares does). With `different_root`, b gets a root of its own.
TokenPair make_token_pair(const std::string& name, bool different_root = false);

// A TokenSet over the pair (fast probing for tests).
std::unique_ptr<hierarchy::TokenSet> open_set(const TokenPair& pair);

// Waits (up to a minute, polling) until member `index` of `set` is in or out of service.
bool wait_for_service(const hierarchy::TokenSet& set, std::size_t index, bool in_service);

}  // namespace keyward::failover_testing
