// What only the PostgreSQL catalog has: its migrations, and claims given back by a dying connection.
#include "catalog/postgres_catalog.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/test_postgres.h"

namespace keyward::hierarchy {
namespace {

DekRecord record(std::uint8_t n, std::string scope) {
  envelope::DekId id{};
  id[15] = n;
  return DekRecord{id, std::move(scope), "payments", 1, std::vector<std::uint8_t>(40, n), DekState::active, 0, 0};
}

std::unique_ptr<PostgresCatalog> open(const std::string& uri) {
  auto catalog = PostgresCatalog::open(uri, {});
  EXPECT_TRUE(catalog) << catalog.error().message;
  return catalog ? std::move(*catalog) : nullptr;
}

TEST(PostgresCatalog, AV4DatabaseIsMigratedToV5KeepingItsRows) {
  const auto uri = keyward::testing::fresh_postgres_catalog("v4");
  {
    auto catalog = open(uri);
    ASSERT_TRUE(catalog->create_dek(record(1, "tenant:old")));
    ASSERT_TRUE(catalog->begin_run("payments", 2, {"/data"}));
  }
  // Back to what schema v4 was: no host, no per-run rewrap count.
  ASSERT_TRUE(keyward::testing::run_postgres_sql(
      uri, "ALTER TABLE rotation_runs DROP COLUMN host, DROP COLUMN deks_rewrapped, DROP COLUMN rewraps_already_done; "
      "UPDATE schema_version SET version = 4"));
  auto catalog = open(uri);
  ASSERT_TRUE(catalog);
  auto runs = catalog->runs("payments", 5);
  ASSERT_TRUE(runs) << runs.error().message;
  ASSERT_EQ(runs->size(), 1u) << "the v4 run is kept";
  EXPECT_EQ((*runs)[0].host, "") << "recorded before hosts were";
  EXPECT_EQ((*runs)[0].paths, std::vector<std::string>{"/data"});
  EXPECT_TRUE(*catalog->find_dek(record(1, "").dek_id));
  EXPECT_TRUE(keyward::testing::run_postgres_sql(uri, "SELECT 1 / (version - 4) FROM schema_version WHERE version = 5"))
      << "the version is 5 now";
}

TEST(PostgresCatalog, ANewerSchemaIsRefusedAsAUsageError) {
  const auto uri = keyward::testing::fresh_postgres_catalog("newer");
  ASSERT_TRUE(open(uri));
  ASSERT_TRUE(keyward::testing::run_postgres_sql(uri, "UPDATE schema_version SET version = 99"));
  auto refused = PostgresCatalog::open(uri, {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().category, ErrorCategory::usage);
  EXPECT_NE(refused.error().message.find("99"), std::string::npos);
}

TEST(PostgresCatalog, AClaimOfAKilledProcessReturnsToThePool) {
  const auto uri = keyward::testing::fresh_postgres_catalog("dying");
  auto survivor = open(uri);
  ASSERT_TRUE(survivor->create_deks({record(1, "a"), record(2, "b"), record(3, "c")}));
  auto run = survivor->begin_run("payments", 2, {});
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // a rotation process that claims a batch and is killed before it commits
    ::close(pipe_fds[0]);
    auto catalog = PostgresCatalog::open(uri, {});
    if (!catalog) ::_exit(2);
    auto claim = (*catalog)->claim_rewrap_batch("payments", 2, 10, *run);
    if (!claim || (*claim)->records().size() != 3) ::_exit(3);
    (void)!::write(pipe_fds[1], "c", 1);
    ::pause();
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  char byte = 0;
  ASSERT_EQ(::read(pipe_fds[0], &byte, 1), 1) << "the child claimed its batch";
  ::close(pipe_fds[0]);
  auto meanwhile = survivor->claim_rewrap_batch("payments", 2, 10, *run);
  ASSERT_TRUE(meanwhile);
  EXPECT_TRUE((*meanwhile)->records().empty()) << "claimed rows are skipped, not waited for";
  meanwhile->reset();
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  // The server notices the closed connection and rolls its transaction back; poll briefly for that.
  std::size_t reclaimed = 0;
  for (int attempt = 0; attempt < 100 && reclaimed == 0; ++attempt) {
    auto after = survivor->claim_rewrap_batch("payments", 2, 10, *run);
    ASSERT_TRUE(after);
    reclaimed = (*after)->records().size();
    if (reclaimed == 0) ::usleep(50'000);
  }
  EXPECT_EQ(reclaimed, 3u) << "the killed process's batch is back in the pool";
}

TEST(PostgresCatalog, AReadOnlyCatalogReadsAndRefusesWrites) {
  const auto uri = keyward::testing::fresh_postgres_catalog("ro");
  ASSERT_TRUE(open(uri)->create_dek(record(1, "tenant:ro")));
  auto reader = PostgresCatalog::open(uri, {.read_only = true});
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_FALSE((*reader)->writable());
  EXPECT_TRUE(*(*reader)->find_dek(record(1, "").dek_id));
  auto write = (*reader)->create_dek(record(2, "tenant:ro"));
  ASSERT_FALSE(write);
  EXPECT_EQ(write.error().category, ErrorCategory::io);
  EXPECT_NE(write.error().message.find("read-only"), std::string::npos) << write.error().message;
}

}  // namespace
}  // namespace keyward::hierarchy
