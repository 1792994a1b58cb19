// rotation::run_rotation over a real token and a fresh SQLite catalog: the plan over given paths,
// what the observer sees, the records, and the verdict when a catalog phase fails.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "catalog/sqlite_catalog.h"
#include "rotation/rotation.h"
#include "rotation/rotation_run.h"
#include "tests/support/hierarchy_fixture.h"

namespace keyward::rotation {
namespace {

namespace fs = std::filesystem;

class RecordingObserver final : public RunObserver {
 public:
  void catalog_started(std::uint64_t pending) override { events.push_back("catalog_started " + std::to_string(pending)); }
  void catalog_progress(std::uint64_t done) override { last_catalog_done = done; }
  void catalog_failed(const std::string& family, const Error&) override { events.push_back("catalog_failed " + family); }
  void catalog_finished(std::uint64_t done) override { events.push_back("catalog_finished " + std::to_string(done)); }
  void files_started() override { events.push_back("files_started"); }
  void files_progress(std::uint64_t done, std::uint64_t total) override { last_files = {done, total}; }
  void files_finished(const FileRotation& files) override { events.push_back("files_finished " + std::to_string(files.seen)); }
  std::vector<std::string> events;
  std::uint64_t last_catalog_done = 0;
  std::pair<std::uint64_t, std::uint64_t> last_files{};
};

// A family with `deks` catalog DEKs under v1, then a started rotation to v2; its own catalog file.
struct RotatingFamily {
  std::string family;
  std::unique_ptr<hierarchy::SqliteCatalog> catalog;
};

RotatingFamily rotating_family(const std::string& family, unsigned deks) {
  auto* env = hierarchy::testing::hierarchy_env();
  EXPECT_NE(env, nullptr);
  RotatingFamily made{family, nullptr};
  if (!env) return made;
  auto catalog = hierarchy::SqliteCatalog::open(keyward::testing::scratch_dir("rotation-" + family) + "/catalog.db");
  EXPECT_TRUE(catalog) << catalog.error().message;
  if (!catalog) return made;
  made.catalog = std::move(*catalog);
  auto kek = env->hierarchy->create_kek(family);
  EXPECT_TRUE(kek) << kek.error().message;
  if (!kek) return made;
  for (unsigned i = 0; i < deks; ++i) {
    auto dek = env->hierarchy->generate_dek(kek->info.ref);
    EXPECT_TRUE(dek) << dek.error().message;
    if (!dek) return made;
    envelope::DekId id{};
    id[0] = static_cast<std::uint8_t>(16 * i + 1);  // spread over the ID space, never all-zero
    id[15] = static_cast<std::uint8_t>(i);
    EXPECT_TRUE(made.catalog->create_dek({id, "scope:" + std::to_string(i), family, kek->info.ref.version,
                                          dek->wrapped, hierarchy::DekState::active, 0, 0}));
  }
  auto started = start_rotation(*env->hierarchy, *made.catalog, family);
  EXPECT_TRUE(started) << started.error().message;
  return made;
}

std::uint64_t deks_below(hierarchy::Catalog& catalog, const std::string& family, std::uint32_t version) {
  auto counts = catalog.count_by_version(family);
  EXPECT_TRUE(counts);
  std::uint64_t below = 0;
  for (const auto& [v, count] : *counts)
    if (v < version) below += count;
  return below;
}

TEST(RotationRun, PlanOverGivenPathsRewrapsTheFamilyAndRecordsTheRun) {
  auto* env = hierarchy::testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto rotating = rotating_family("run-paths", 5);
  ASSERT_TRUE(rotating.catalog);
  const std::string dir = keyward::testing::scratch_dir("run-paths-data");
  std::ofstream(dir + "/notes.txt") << "not an envelope\n";
  const std::string file = keyward::testing::scratch_dir("run-paths-single") + "/plain.bin";
  std::ofstream(file) << "neither\n";

  RecordingObserver observer;
  // The same path twice, and with a trailing slash: recorded once, normalised.
  auto ran = run_rotation(*env->hierarchy, *rotating.catalog, {"run-paths", {dir + "/", file, dir}},
                          in_process_catalog_phase(*env->hierarchy, *rotating.catalog, 2), observer);
  ASSERT_TRUE(ran) << ran.error().message;
  EXPECT_EQ(ran->verdict, RunVerdict::complete);
  EXPECT_EQ(observer.events, (std::vector<std::string>{"catalog_started 5", "catalog_finished 5", "files_started",
                                                       "files_finished 2"}));
  EXPECT_EQ(observer.last_catalog_done, 5u);
  EXPECT_EQ(observer.last_files, (std::pair<std::uint64_t, std::uint64_t>{2, 2}));
  EXPECT_EQ(ran->files.not_envelopes.size(), 2u);
  EXPECT_TRUE(ran->files.failures.empty());
  ASSERT_EQ(ran->records.size(), 1u) << "only the family asked for";
  const auto& record = ran->records.front();
  EXPECT_EQ(record.family, "run-paths");
  EXPECT_EQ(record.target_version, 2u);
  EXPECT_EQ(record.outcome, hierarchy::RunOutcome::complete);
  EXPECT_EQ(record.paths, (std::vector<std::string>{fs::path(dir).lexically_normal().string(),
                                                    fs::path(file).lexically_normal().string()}));
  EXPECT_EQ(deks_below(*rotating.catalog, "run-paths", 2), 0u);
  auto rotation = rotating.catalog->rotation("run-paths");
  ASSERT_TRUE(rotation && *rotation);
  EXPECT_NE((*rotation)->finished, 0) << "a complete run finishes the rotation";
}

TEST(RotationRun, AFailedCatalogPhaseIsRecordedIncompleteAndTheFilesStillRun) {
  auto* env = hierarchy::testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto rotating = rotating_family("run-fails", 3);
  ASSERT_TRUE(rotating.catalog);
  const std::string dir = keyward::testing::scratch_dir("run-fails-data");
  std::ofstream(dir + "/notes.txt") << "not an envelope\n";
  CatalogPhase failing = [](const std::string&, std::uint32_t, std::int64_t, const std::function<void(std::uint64_t)>&) -> Status {
    return make_error(ErrorCategory::token, "the module went away");
  };
  RecordingObserver observer;
  auto ran = run_rotation(*env->hierarchy, *rotating.catalog, {"run-fails", {dir}}, failing, observer);
  ASSERT_TRUE(ran) << ran.error().message;
  EXPECT_EQ(ran->verdict, RunVerdict::infrastructure);
  EXPECT_EQ(observer.events, (std::vector<std::string>{"catalog_started 3", "catalog_failed run-fails", "catalog_finished 3",
                                                       "files_started", "files_finished 1"}));
  ASSERT_EQ(ran->catalog_errors.count("run-fails"), 1u);
  ASSERT_EQ(ran->records.size(), 1u);
  EXPECT_EQ(ran->records.front().outcome, hierarchy::RunOutcome::incomplete);
  EXPECT_NE(ran->records.front().reason.find("the catalog phase failed: the module went away"), std::string::npos)
      << ran->records.front().reason;
  EXPECT_EQ(deks_below(*rotating.catalog, "run-fails", 2), 3u);
  auto rotation = rotating.catalog->rotation("run-fails");
  ASSERT_TRUE(rotation && *rotation);
  EXPECT_EQ((*rotation)->finished, 0) << "an incomplete run leaves the rotation in progress";
}

TEST(RotationRun, APathThatIsNeitherFileNorDirectoryStartsNoRun) {
  auto* env = hierarchy::testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto rotating = rotating_family("run-nopath", 1);
  ASSERT_TRUE(rotating.catalog);
  RecordingObserver observer;
  auto ran = run_rotation(*env->hierarchy, *rotating.catalog, {"run-nopath", {"/nonexistent/keyward/path"}},
                          in_process_catalog_phase(*env->hierarchy, *rotating.catalog, 10), observer);
  ASSERT_FALSE(ran);
  EXPECT_EQ(ran.error().category, ErrorCategory::usage);
  EXPECT_TRUE(observer.events.empty());
  auto runs = rotating.catalog->runs("run-nopath", 10);
  ASSERT_TRUE(runs);
  EXPECT_TRUE(runs->empty());
}

TEST(RotationRun, AnUnknownFamilyIsNotFound) {
  auto* env = hierarchy::testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto catalog = hierarchy::SqliteCatalog::open(keyward::testing::scratch_dir("run-unknown") + "/catalog.db");
  ASSERT_TRUE(catalog);
  RecordingObserver observer;
  auto ran = run_rotation(*env->hierarchy, **catalog, {"no-such-family", {}},
                          in_process_catalog_phase(*env->hierarchy, **catalog, 10), observer);
  ASSERT_FALSE(ran);
  EXPECT_EQ(ran.error().category, ErrorCategory::not_found);
}

TEST(RunVerdict, DamagedDataIsOneInfrastructureIsThree) {
  hierarchy::RunRecord complete;
  complete.outcome = hierarchy::RunOutcome::complete;
  hierarchy::RunRecord incomplete;
  incomplete.outcome = hierarchy::RunOutcome::incomplete;
  FileRotation none;
  EXPECT_EQ(run_verdict({complete}, {}, none), RunVerdict::complete);
  EXPECT_EQ(run_verdict({}, {}, none), RunVerdict::complete) << "nothing to rotate";

  FileRotation damaged;
  damaged.failures.push_back({"/data/a.kw", "payments", Error{ErrorCategory::corrupt_input, "bad header", std::nullopt}});
  damaged.failures.push_back({"/data/b.kw", "payments", Error{ErrorCategory::authentication, "tag", std::nullopt}});
  EXPECT_EQ(run_verdict({incomplete}, {}, damaged), RunVerdict::damaged_data);

  FileRotation unreadable = damaged;
  unreadable.failures.push_back({"/data/c.kw", "", Error{ErrorCategory::io, "cannot open", std::nullopt}});
  EXPECT_EQ(run_verdict({incomplete}, {}, unreadable), RunVerdict::infrastructure);

  std::map<std::string, Error> catalog_errors{{"payments", Error{ErrorCategory::token, "gone", std::nullopt}}};
  EXPECT_EQ(run_verdict({incomplete}, catalog_errors, none), RunVerdict::infrastructure);
}

}  // namespace
}  // namespace keyward::rotation
