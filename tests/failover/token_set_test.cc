// Several tokens holding the same keys (hierarchy/token_set.h), with faults injected by the fault
// module (tests/fault_module/): the checks at start-up, the blob flow for new KEK versions, and a
// token pulled in the middle of a rotation and of a stream of field decrypts.
#include "hierarchy/token_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>

#include "catalog/dek_cache.h"
#include "catalog/locked_catalog.h"
#include "catalog/sqlite_catalog.h"
#include "keyward/internal/key_service.h"
#include "rotation/rotation.h"
#include "rotation/rotation_run.h"
#include "tests/failover/token_pair.h"

namespace keyward::hierarchy {
namespace {

using failover_testing::make_token_pair;
using failover_testing::open_set;

const std::vector<std::uint8_t> kPlain{'c', 'a', 'r', 'd', '-', '4', '2'};
const envelope::EncodedContext kNoContext{envelope::EncryptionContext{}};

std::unique_ptr<Catalog> fresh_catalog(const std::string& name) {
  auto path = keyward::testing::scratch_dir("catalogs") + "/" + name + ".db";
  auto opened = SqliteCatalog::open(path);
  EXPECT_TRUE(opened) << opened.error().message;
  return opened ? std::make_unique<LockedCatalog>(std::move(*opened)) : nullptr;
}

std::string fingerprint_on(KeyHierarchy& token, const std::string& label) {
  auto kcv = token.key_check_value(label);
  return kcv ? kcv->kw_fingerprint : "(" + kcv.error().message + ")";
}

TEST(TokenSet, RefusesATokenWithAnotherRoot) {
  auto pair = make_token_pair("otherroot", /*different_root=*/true);
  auto set = TokenSet::open(pair.uris());
  ASSERT_FALSE(set) << "two tokens with different roots must not form a set";
  EXPECT_EQ(set.error().category, ErrorCategory::token);
  EXPECT_NE(set.error().message.find("the roots differ"), std::string::npos) << set.error().message;
  EXPECT_NE(set.error().message.find("fb-otherroot"), std::string::npos) << "names the token: " << set.error().message;
}

TEST(TokenSet, RefusesATokenWhoseKekDiffers) {
  auto pair = make_token_pair("otherkek");
  // The same family made on each token separately: same label, different key.
  for (const auto& token : {pair.a, pair.b}) {
    auto opened = open_hierarchy(token.parsed_uri());
    ASSERT_TRUE(opened) << opened.error().message;
    ASSERT_TRUE(opened->hierarchy->create_kek("payments"));
  }
  auto set = TokenSet::open(pair.uris());
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message.find("keyward/kek/payments/v1 differs"), std::string::npos) << set.error().message;
}

TEST(TokenSet, NewKekVersionIsCreatedOnceAndImportedIntoEveryToken) {
  auto pair = make_token_pair("blobflow");
  auto set = open_set(pair);
  ASSERT_TRUE(set);
  auto created = set->create_kek("payments");
  ASSERT_TRUE(created) << created.error().message;
  auto tokens = set->reached_tokens();
  ASSERT_EQ(tokens.size(), 2u);
  const auto label = created->info.ref.label();
  EXPECT_EQ(fingerprint_on(*tokens[0], label), created->info.kcv.kw_fingerprint);
  EXPECT_EQ(fingerprint_on(*tokens[1], label), created->info.kcv.kw_fingerprint);
  EXPECT_EQ(*set->latest_kek_version("payments"), 1u);
}

TEST(TokenSet, AVersionNotOnEveryTokenIsNotUsedForNewDeks) {
  auto pair = make_token_pair("partial");
  auto set = open_set(pair);
  ASSERT_TRUE(set);
  ASSERT_TRUE(set->create_kek("payments"));  // v1 on both
  // v2 made on token a alone, as a creation cut short before its import would leave it.
  auto a = open_hierarchy(pair.a.parsed_uri());
  ASSERT_TRUE(a);
  auto v2 = a->hierarchy->create_kek("payments");
  ASSERT_TRUE(v2) << v2.error().message;
  ASSERT_EQ(v2->info.ref.version, 2u);
  EXPECT_EQ(*set->latest_kek_version("payments"), 1u) << "v2 is not on token b yet";
  auto catalog = fresh_catalog("partial");
  DekCache cache;
  KeyService keys(*set, *catalog, cache);
  auto key = keys.key_for_encryption("tenant:partial", "payments");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->record.kek_version, 1u) << "a new DEK goes under the newest version every token holds";
  // Completing the import (what replicate does) makes v2 the one for new DEKs.
  ASSERT_TRUE(set->import_kek(v2->blob));
  EXPECT_EQ(*set->latest_kek_version("payments"), 2u);
}

// A set over `pair` with KEK payments v1 on both tokens, then token b pulled and taken out.
std::unique_ptr<TokenSet> set_with_token_b_out(const failover_testing::TokenPair& pair) {
  auto set = open_set(pair);
  if (!set || !set->create_kek("payments")) return nullptr;
  failover_testing::pull_token_b();
  // Listings spread over both tokens: the next one on b fails over and takes b out.
  for (int i = 0; i < 4; ++i)
    if (!set->list_keks()) return nullptr;
  return failover_testing::wait_for_service(*set, 1, false) ? std::move(set) : nullptr;
}

TEST(TokenSet, CreatingAKekVersionIsRefusedWhileATokenIsOut) {
  auto pair = make_token_pair("createout");
  auto set = set_with_token_b_out(pair);
  ASSERT_TRUE(set);
  auto created = set->create_kek("payments");
  ASSERT_FALSE(created) << "a new version must reach every token: refused, not half made";
  EXPECT_EQ(created.error().category, ErrorCategory::token);
  EXPECT_NE(created.error().message.find("out of service"), std::string::npos) << created.error().message;
  failover_testing::restore_token_b();
  ASSERT_TRUE(failover_testing::wait_for_service(*set, 1, true)) << set->members()[1].last_problem;
  for (auto* token : set->reached_tokens()) EXPECT_EQ(*token->latest_kek_version("payments"), 1u) << "nothing was created";
}

TEST(TokenSet, ATokenBackFromAnOutageIsGivenTheVersionsMadeWhileItWasAway) {
  auto pair = make_token_pair("catchup");
  auto set = set_with_token_b_out(pair);
  ASSERT_TRUE(set);
  // Made on a alone while b is away (the set refuses to create; an operator used token a directly).
  auto a = open_hierarchy(pair.a.parsed_uri());
  ASSERT_TRUE(a);
  auto v2 = a->hierarchy->create_kek("payments");
  ASSERT_TRUE(v2);
  failover_testing::restore_token_b();
  ASSERT_TRUE(failover_testing::wait_for_service(*set, 1, true)) << set->members()[1].last_problem;
  auto tokens = set->reached_tokens();
  EXPECT_EQ(fingerprint_on(*tokens[1], v2->info.ref.label()), v2->info.kcv.kw_fingerprint);
  EXPECT_EQ(*set->latest_kek_version("payments"), 2u);
}

TEST(TokenSet, ATamperedWrappedDekIsRefusedWithoutTakingATokenOut) {
  auto pair = make_token_pair("tamper");
  auto set = open_set(pair);
  ASSERT_TRUE(set);
  ASSERT_TRUE(set->create_kek("payments"));
  auto dek = set->generate_dek(KekRef{"payments", 1});
  ASSERT_TRUE(dek);
  dek->wrapped[5] ^= 0x01;
  auto unwrapped = set->unwrap_dek_for_cpu(KekRef{"payments", 1}, dek->wrapped);
  ASSERT_FALSE(unwrapped);
  EXPECT_EQ(unwrapped.error().category, ErrorCategory::authentication) << unwrapped.error().message;
  EXPECT_EQ(set->failovers(), 0u) << "a data error is the data's, not the token's: no failover";
  for (const auto& member : set->members()) EXPECT_TRUE(member.in_service);
}

// Token b stops answering for the life of this guard (its calls block inside the fault module); the
// guard lets them return however the test ends.
struct TokenBHung {
  TokenBHung() { failover_testing::hang_token_b(); }
  ~TokenBHung() { failover_testing::unhang_token_b(); }
};

// A deadline well above what a healthy token takes on a loaded CI machine (ASan included), so only
// the hung token misses it.
std::unique_ptr<TokenSet> open_set_with_deadline(const failover_testing::TokenPair& pair) {
  auto set = TokenSet::open(pair.uris(), TokenSetOptions{.open = {},
                                                         .probe_interval = std::chrono::milliseconds(50),
                                                         .call_timeout = std::chrono::milliseconds(2000)});
  EXPECT_TRUE(set) << set.error().message;
  return set ? std::move(*set) : nullptr;
}

bool says_it_did_not_answer(const std::string& problem) { return problem.find("did not answer") != std::string::npos; }

// A hung token must not hang its callers: at the deadline it is taken out and the operation runs on
// the other token; the calls left inside it return when it answers again, and it is put back.
TEST(TokenSet, ATokenThatStopsAnsweringIsLeftBehindAtTheDeadline) {
  auto pair = make_token_pair("hang");
  auto set = open_set_with_deadline(pair);
  ASSERT_TRUE(set);
  ASSERT_TRUE(set->create_kek("payments"));
  std::vector<NewDek> deks;
  for (int i = 0; i < 8; ++i) {
    auto dek = set->generate_dek(KekRef{"payments", 1});
    ASSERT_TRUE(dek) << dek.error().message;
    deks.push_back(std::move(*dek));
  }
  const auto faults_before = failover_testing::injected_faults();
  {
    TokenBHung hung;
    // Spread over both tokens: the first call that lands on b waits out the deadline, then fails over.
    for (const auto& dek : deks) {
      auto unwrapped = set->unwrap_dek_for_cpu(KekRef{"payments", 1}, dek.wrapped);
      ASSERT_TRUE(unwrapped) << unwrapped.error().message;
      EXPECT_TRUE(std::ranges::equal(unwrapped->reveal(), dek.plaintext.reveal())) << "the same DEK from either token";
    }
    const auto members = set->members();
    EXPECT_FALSE(members[1].in_service);
    EXPECT_TRUE(says_it_did_not_answer(members[1].last_problem)) << members[1].last_problem;
    EXPECT_TRUE(members[0].in_service);
    EXPECT_GE(set->failovers(), 1u);
    EXPECT_GT(failover_testing::injected_faults(), faults_before) << "token b never hung";
    // While b hangs, the set keeps serving from a.
    auto more = set->generate_dek(KekRef{"payments", 1});
    ASSERT_TRUE(more) << more.error().message;
  }
  ASSERT_TRUE(failover_testing::wait_for_service(*set, 1, true)) << set->members()[1].last_problem;
  auto after = set->unwrap_dek_for_cpu(KekRef{"payments", 1}, deks.front().wrapped);
  ASSERT_TRUE(after) << after.error().message;
}

TEST(TokenSet, ATokenHungAtStartUpIsLeftOutAndJoinsWhenItAnswers) {
  auto pair = make_token_pair("hangstart");
  {
    auto set = open_set(pair);  // KEK v1 on both, before b hangs
    ASSERT_TRUE(set && set->create_kek("payments"));
  }
  std::unique_ptr<TokenSet> set;
  {
    TokenBHung hung;
    set = open_set_with_deadline(pair);
    ASSERT_TRUE(set) << "one token answering is enough to open the set";
    const auto members = set->members();
    EXPECT_FALSE(members[1].in_service);
    EXPECT_TRUE(says_it_did_not_answer(members[1].last_problem)) << members[1].last_problem;
    auto dek = set->generate_dek(KekRef{"payments", 1});
    ASSERT_TRUE(dek) << dek.error().message;
  }
  ASSERT_TRUE(failover_testing::wait_for_service(*set, 1, true)) << set->members()[1].last_problem;
}

// A change is not retried, and a token that does not answer cannot say whether it was made: the
// error says so instead of hanging or guessing.
TEST(TokenSet, AKekCreationWhoseTokenHangsSaysItMayHaveBeenMade) {
  auto pair = make_token_pair("hangcreate");
  auto set = open_set_with_deadline(pair);
  ASSERT_TRUE(set);
  ASSERT_TRUE(set->create_kek("payments"));
  {
    TokenBHung hung;
    auto created = set->create_kek("payments");  // made on a, then the import into b does not answer
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().category, ErrorCategory::token);
    EXPECT_NE(created.error().message.find("may or may not have been made"), std::string::npos) << created.error().message;
    EXPECT_FALSE(set->members()[1].in_service);
    EXPECT_EQ(*set->latest_kek_version("payments"), 1u) << "a version not on every token is not used for new DEKs";
  }
  // When b answers again, the prober gives it the version made on a alone.
  ASSERT_TRUE(failover_testing::wait_for_service(*set, 1, true)) << set->members()[1].last_problem;
  EXPECT_EQ(*set->latest_kek_version("payments"), 2u);
}

// Acceptance (issue 14): one of two tokens taken away in the middle of a rotation and of a stream of
// field decrypts; both finish with zero failures, and the token is put back when it returns.
TEST(TokenSet, RotationAndFieldDecryptsFinishWhileATokenIsPulledAndRestored) {
  auto pair = make_token_pair("acceptance");
  auto set = open_set(pair);
  ASSERT_TRUE(set);
  ASSERT_TRUE(set->create_kek("payments"));
  auto catalog = fresh_catalog("acceptance");
  ASSERT_TRUE(catalog);
  constexpr int kScopes = 120;
  std::vector<std::string> values;
  {
    DekCache cache;
    KeyService writer(*set, *catalog, cache);
    for (int i = 0; i < kScopes; ++i) {
      auto value = writer.encrypt_field("tenant:" + std::to_string(i), "payments", kPlain, envelope::FieldSuite::randomized,
                                        kNoContext);
      ASSERT_TRUE(value) << value.error().message;
      values.push_back(*value);
    }
  }
  ASSERT_TRUE(rotation::start_rotation(*set, *catalog, "payments"));  // v2, on both tokens
  const std::size_t faults_before = failover_testing::injected_faults();

  // Readers: a cache of one key, so nearly every value is an unwrap in a token.
  DekCache reader_cache(DekCacheLimits{.capacity = 1});
  KeyService readers(*set, *catalog, reader_cache, KeyServiceOptions{.revalidate_after = std::chrono::milliseconds(0)});
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> decrypts{0}, decrypt_failures{0};
  std::string first_failure;
  std::mutex failure_mutex;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = static_cast<std::size_t>(t); !stop.load(); i = (i + 7) % values.size()) {
        auto plain = readers.decrypt_field(values[i], std::nullopt, kNoContext);
        if (!plain || !std::equal(plain->reveal().begin(), plain->reveal().end(), kPlain.begin(), kPlain.end())) {
          decrypt_failures.fetch_add(1);
          std::lock_guard lock(failure_mutex);
          if (first_failure.empty()) first_failure = plain ? "wrong plaintext" : plain.error().message;
        }
        decrypts.fetch_add(1);
      }
    });
  }
  auto wait_for_decrypts = [&](std::uint64_t more) {
    const auto target = decrypts.load() + more;
    while (decrypts.load() < target && decrypt_failures.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  };

  // The rotation, in batches of 5; token b is pulled after the first batches and restored once it is out.
  struct PullMidway : rotation::RunObserver {
    std::atomic<bool> pulled{false};
    void catalog_progress(std::uint64_t done) override {
      if (done >= 20 && !pulled.exchange(true)) failover_testing::pull_token_b();
    }
  } observer;
  std::optional<Result<rotation::RunResult>> run;
  std::atomic<bool> rotation_done{false};
  // Whatever an assertion below does, the threads are stopped and joined and token b is back.
  struct Cleanup {
    std::function<void()> done;
    ~Cleanup() { done(); }
  };
  std::thread rotation_thread;
  Cleanup cleanup{[&] {
    stop = true;
    if (rotation_thread.joinable()) rotation_thread.join();
    for (auto& thread : threads)
      if (thread.joinable()) thread.join();
    failover_testing::restore_token_b();
  }};
  rotation_thread = std::thread([&] {
    run = rotation::run_rotation(*set, *catalog, rotation::RunRequest{.only_family = "payments", .paths = {}},
                                 rotation::in_process_catalog_phase(*set, *catalog, 5), observer);
    rotation_done = true;
  });
  wait_for_decrypts(50);
  while (!observer.pulled.load() && !rotation_done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(failover_testing::wait_for_service(*set, 1, false)) << "token b was pulled and must be taken out";
  wait_for_decrypts(100);  // decrypts served by token a alone
  rotation_thread.join();
  failover_testing::restore_token_b();
  ASSERT_TRUE(failover_testing::wait_for_service(*set, 1, true)) << set->members()[1].last_problem;
  const auto b_operations = set->members()[1].operations;
  wait_for_decrypts(100);  // and by both again
  cleanup.done();

  ASSERT_TRUE(observer.pulled.load()) << "the rotation must have reached the pull";
  EXPECT_GT(failover_testing::injected_faults(), faults_before) << "the fault module refused calls on token b";
  EXPECT_GE(set->members()[1].times_taken_out, 1u);
  EXPECT_GT(set->members()[1].operations, b_operations) << "token b serves again after it came back";
  EXPECT_EQ(decrypt_failures.load(), 0u) << first_failure;
  ASSERT_TRUE(run && *run) << (run && !*run ? run->error().message : "no result");
  EXPECT_EQ((*run)->verdict, rotation::RunVerdict::complete);
  EXPECT_EQ(*catalog->references_to("payments", 1), 0u) << "every DEK was rewrapped to v2";
  // Every value still decrypts, from scratch, on each token alone.
  for (auto* token : set->reached_tokens()) {
    DekCache cache;
    KeyService check(*token, *catalog, cache);
    for (const auto& value : values) {
      auto plain = check.decrypt_field(value, std::nullopt, kNoContext);
      ASSERT_TRUE(plain) << plain.error().message;
    }
  }
}

}  // namespace
}  // namespace keyward::hierarchy
