// Worker supervision and the progress protocol, with /bin/sh standing in for the worker binary,
// and the worker's side against the test token.
#include <gtest/gtest.h>

#include "catalog/sqlite_catalog.h"
#include "rotation/worker_processes.h"
#include "tests/support/hierarchy_fixture.h"

namespace keyward::rotation {
namespace {

TEST(WorkerProtocol, ProgressLinesRoundTripAndOtherLinesAreIgnored) {
  EXPECT_EQ(worker_progress_line(42), "{\"done\":42}\n");
  EXPECT_EQ(parse_worker_progress_line("{\"done\":42}"), 42u);
  EXPECT_EQ(parse_worker_progress_line("{\"done\":18446744073709551615}"), UINT64_MAX);
  EXPECT_FALSE(parse_worker_progress_line(""));
  EXPECT_FALSE(parse_worker_progress_line("{\"done\":-1}"));
  EXPECT_FALSE(parse_worker_progress_line("{\"done\":\"7\"}"));
  EXPECT_FALSE(parse_worker_progress_line("{\"phase\":\"catalog\"}"));
  EXPECT_FALSE(parse_worker_progress_line("[1,2]"));
  EXPECT_FALSE(parse_worker_progress_line("keyward-rotate: token error"));
}

std::vector<std::string> shell(const std::string& script) { return {"sh", "-c", script}; }

TEST(WorkerProcesses, ProgressIsTheSumOverWorkers) {
  std::uint64_t last = 0;
  auto ran = run_worker_processes("/bin/sh",
                                  {shell("echo '{\"done\":1}'; echo noise; echo '{\"done\":3}'"),
                                   shell("printf '{\"do'; sleep 0.1; printf 'ne\":5}\\n'")},
                                  [&](std::uint64_t done) { last = done; });
  ASSERT_TRUE(ran) << ran.error().message;
  EXPECT_EQ(last, 8u) << "a line split across reads still counts";
}

TEST(WorkerProcesses, AFailedWorkerFailsTheRunWithARerunHint) {
  auto ran = run_worker_processes("/bin/sh", {shell("echo '{\"done\":2}'"), shell("exit 4")}, nullptr);
  ASSERT_FALSE(ran);
  EXPECT_EQ(ran.error().category, ErrorCategory::token);
  EXPECT_NE(ran.error().message.find("1 worker(s) failed"), std::string::npos) << ran.error().message;
  EXPECT_NE(ran.error().message.find("rerun keyward-rotate run"), std::string::npos);
}

TEST(WorkerProcesses, AMissingExecutableIsAnIoError) {
  auto ran = run_worker_processes("/nonexistent/keyward-rotate", {{"keyward-rotate", "worker"}}, nullptr);
  ASSERT_FALSE(ran);
  EXPECT_EQ(ran.error().category, ErrorCategory::io);
}

// A session over the shared test token and one catalog; counts how often the worker opened one.
class SharedSession final : public WorkerSession {
 public:
  SharedSession(hierarchy::KeyHierarchy& h, hierarchy::Catalog& c) : hierarchy_(h), catalog_(c) {}
  hierarchy::KeyHierarchy& hierarchy() override { return hierarchy_; }
  hierarchy::Catalog& catalog() override { return catalog_; }

 private:
  hierarchy::KeyHierarchy& hierarchy_;
  hierarchy::Catalog& catalog_;
};

TEST(WorkerSide, RewrapsItsShardAndReportsEveryBatch) {
  auto* env = hierarchy::testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto catalog = hierarchy::SqliteCatalog::open(keyward::testing::scratch_dir("worker-side") + "/catalog.db");
  ASSERT_TRUE(catalog) << catalog.error().message;
  auto kek = env->hierarchy->create_kek("worker-side");
  ASSERT_TRUE(kek) << kek.error().message;
  for (std::uint8_t i = 0; i < 6; ++i) {
    auto dek = env->hierarchy->generate_dek(kek->info.ref);
    ASSERT_TRUE(dek);
    envelope::DekId id{};
    id[0] = static_cast<std::uint8_t>(i * 50 + 1);  // 1, 51, 101 in shard 0 of 2 (below 0x80); 151, 201, 251 not
    ASSERT_TRUE((*catalog)->create_dek({id, "s", "worker-side", 1, dek->wrapped, hierarchy::DekState::active, 0, 0}));
  }
  auto next = start_rotation(*env->hierarchy, **catalog, "worker-side");
  ASSERT_TRUE(next) << next.error().message;

  int opened = 0;
  std::vector<std::string> lines;
  auto rewrapped = rewrap_shard_in_module_lifetimes(
      [&]() -> Result<std::unique_ptr<WorkerSession>> {
        ++opened;
        return std::make_unique<SharedSession>(*env->hierarchy, **catalog);
      },
      "worker-side", 2, shard_of(0, 2), 2, [&](std::string_view line) { lines.emplace_back(line); });
  ASSERT_TRUE(rewrapped) << rewrapped.error().message;
  EXPECT_EQ(*rewrapped, 3u) << "only the first half of the ID space";
  EXPECT_EQ(opened, 1);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), worker_progress_line(3));
  auto counts = (*catalog)->count_by_version("worker-side");
  ASSERT_TRUE(counts);
  EXPECT_EQ((*counts)[1], 3u);
  EXPECT_EQ((*counts)[2], 3u);
}

}  // namespace
}  // namespace keyward::rotation
