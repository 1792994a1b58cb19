// Client::open and the error vocabulary: which token, which catalog, and what is refused.
#include <cstdlib>

#include "tests/keyward/client_support.h"
#include "tests/support/test_postgres.h"

namespace keyward {
namespace {

using api_testing::open_test_client;
using api_testing::test_options;

TEST(ClientOpen, OpensTheTestTokenAndAnswersForItsKeks) {
  auto client = open_test_client("open");
  ASSERT_TRUE(client);
  auto newest = client->newest_kek_version("payments");
  ASSERT_TRUE(newest) << newest.error().message;
  EXPECT_GE(*newest, 1u);
  auto none = client->newest_kek_version("no-such-family");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(*none, 0u);
}

TEST(ClientOpen, TakesTheTokenFromKeywardTokenWhenNoUriIsGiven) {
  ASSERT_NE(hierarchy::testing::hierarchy_env(), nullptr);
  auto options = test_options("from-env");
  ::setenv("KEYWARD_TOKEN", (options.token_uris.front() + "  " + options.token_uris.front()).c_str(), 1);
  options.token_uris.clear();
  auto client = Client::open(options);
  ::unsetenv("KEYWARD_TOKEN");
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_TRUE(client->newest_kek_version("payments"));
}

TEST(ClientOpen, NoTokenAtAllIsAUsageError) {
  ::unsetenv("KEYWARD_TOKEN");
  ClientOptions options;
  auto client = Client::open(options);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().category, ErrorCategory::usage);
  EXPECT_EQ(client.error().exit_code(), 2);
  EXPECT_NE(client.error().message.find("KEYWARD_TOKEN"), std::string::npos);
}

// Several different URIs are a set of tokens (hierarchy/token_set.h): one not reachable at start-up
// is left out (and probed), the reachable ones serve. Refusals of a differing token: tests/failover/.
TEST(ClientOpen, SeveralDifferentTokensFormASetServedByTheReachableOnes) {
  ASSERT_NE(hierarchy::testing::hierarchy_env(), nullptr);
  auto options = test_options("several");
  options.token_uris.push_back("pkcs11:token=another-token");
  auto client = Client::open(options);
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_TRUE(client->newest_kek_version("payments"));
  // The token left out is reported, with why, for monitoring.
  auto health = client->token_health();
  ASSERT_EQ(health.size(), 2u);
  EXPECT_TRUE(health[0].in_service);
  EXPECT_EQ(health[0].problem, "");
  EXPECT_FALSE(health[1].in_service);
  EXPECT_NE(health[1].problem.find("not reachable at start-up"), std::string::npos) << health[1].problem;
  EXPECT_NE(health[1].token.find("another-token"), std::string::npos) << health[1].token;
}

TEST(ClientOpen, OneTokenIsReportedInService) {
  auto client = open_test_client("health");
  ASSERT_TRUE(client);
  auto health = client->token_health();
  ASSERT_EQ(health.size(), 1u);
  EXPECT_TRUE(health[0].in_service);
  EXPECT_FALSE(health[0].token.empty());
}

TEST(ClientOpen, APinValueInTheOptionsIsRefusedUnlessAllowed) {
  auto options = test_options("pin-value");
  options.token_uris = {"pkcs11:token=whatever?pin-value=123456"};
  auto client = Client::open(options);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().category, ErrorCategory::usage);
  EXPECT_EQ(client.error().message.find("123456"), std::string::npos) << "the PIN is never echoed";
}

TEST(ClientOpen, AnUnknownTokenIsAnInfrastructureError) {
  ASSERT_NE(hierarchy::testing::hierarchy_env(), nullptr);
  auto options = test_options("unknown-token");
  const std::string uri = options.token_uris.front();
  options.token_uris = {"pkcs11:token=no-such-token" + uri.substr(uri.find('?'))};
  auto client = Client::open(options);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().category, ErrorCategory::token);
  EXPECT_EQ(client.error().exit_code(), 3);
}

TEST(ClientOpen, OutOfRangeOptionsAreUsageErrors) {
  auto threads = test_options("threads");
  threads.crypto_threads = 0;
  auto refused = Client::open(threads);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().category, ErrorCategory::usage);
  auto segments = test_options("segments");
  segments.segment_size = 100;
  refused = Client::open(segments);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().category, ErrorCategory::usage);
}

TEST(ClientOpen, APostgresCatalogUriWithAPasswordIsAUsageError) {
  auto options = test_options("postgres");
  options.catalog = "postgresql://app:hunter2@db.example/keyward";
  auto client = Client::open(options);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().category, ErrorCategory::usage);
  EXPECT_EQ(client.error().message.find("hunter2"), std::string::npos) << client.error().message;
}

TEST(ClientOpen, FieldValuesLiveInAPostgresCatalog) {
  auto options = test_options("postgres-fields");
  options.catalog = keyward::testing::fresh_postgres_catalog("client_fields");
  auto client = open_test_client(options);
  ASSERT_TRUE(client);
  auto field = client->field(api_testing::field_options("tenant:pg", "payments"));
  ASSERT_TRUE(field) << field.error().message;
  auto sealed = field->encrypt("alice@example.com");
  ASSERT_TRUE(sealed) << sealed.error().message;
  // Another client (another host, in production) reads the scope's DEK from the same database.
  auto other = open_test_client(options);
  ASSERT_TRUE(other);
  auto reader = other->field(api_testing::field_options("tenant:pg", "payments"));
  ASSERT_TRUE(reader);
  auto plain = reader->decrypt(*sealed);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(std::string(plain->value.begin(), plain->value.end()), "alice@example.com");
}

TEST(ClientOpen, AnUnreachablePostgresCatalogFailsAtFirstUseAsInfrastructure) {
  auto options = test_options("postgres-down");
  options.catalog = "postgresql://keyward@/catalog?host=" + keyward::testing::scratch_dir("pg-down") + "/none";
  auto client = open_test_client(options);
  ASSERT_TRUE(client);
  auto field = client->field(api_testing::field_options("tenant:down", "payments"));
  ASSERT_FALSE(field);
  EXPECT_EQ(field.error().category, ErrorCategory::database);
  EXPECT_EQ(field.error().exit_code(), 3);
  EXPECT_NE(field.error().message.find("postgresql://keyward@/catalog"), std::string::npos) << field.error().message;
}

TEST(ClientOpen, TheCatalogIsOpenedByTheFirstFieldCallAndAMissingDirectoryFailsThere) {
  auto options = test_options("unused");
  options.catalog = keyward::testing::scratch_dir("client") + "/no-such-dir/catalog.db";
  auto client = open_test_client(options);
  ASSERT_TRUE(client) << "a client that never uses fields never opens the catalog";
  auto field = client->field(api_testing::field_options("tenant:missing", "payments"));
  ASSERT_FALSE(field);
  EXPECT_EQ(field.error().category, ErrorCategory::io);
  EXPECT_EQ(field.error().exit_code(), 1);
}

TEST(ClientOpen, AMovedClientKeepsWorking) {
  auto client = open_test_client("moved");
  ASSERT_TRUE(client);
  Client moved = std::move(*client);
  EXPECT_TRUE(moved.newest_kek_version("payments"));
}

TEST(ErrorVocabulary, ExitCodesFollowTheInterface) {
  EXPECT_EQ((Error{ErrorCategory::usage, "", std::nullopt}.exit_code()), 2);
  EXPECT_EQ((Error{ErrorCategory::token, "", std::nullopt}.exit_code()), 3);
  EXPECT_EQ((Error{ErrorCategory::authentication, "", std::nullopt}.exit_code()), 1);
  EXPECT_EQ((Error{ErrorCategory::io, "", std::nullopt}.exit_code()), 1);
  EXPECT_EQ((Error{ErrorCategory::database, "", std::nullopt}.exit_code()), 3);
  EXPECT_EQ(category_name(ErrorCategory::database), "database");
  EXPECT_EQ(category_name(ErrorCategory::corrupt_input), "corrupt-input");
  auto prefixed = Error{ErrorCategory::policy, "refused", 5ul}.with_context("line 3");
  EXPECT_EQ(prefixed.message, "line 3: refused");
  EXPECT_EQ(prefixed.category, ErrorCategory::policy);
  EXPECT_EQ(prefixed.ck_rv, 5ul);
}

}  // namespace
}  // namespace keyward
