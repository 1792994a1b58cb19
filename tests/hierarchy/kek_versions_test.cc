// Creating a key version is atomic: concurrent creators (each with its own connection, as separate
// processes have) get distinct consecutive versions, and a label never names two objects.
#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <mutex>
#include <thread>

#include "hierarchy/key_hierarchy.h"
#include "hierarchy/labels.h"
#include "hierarchy/version_lock.h"
#include "tests/support/hierarchy_fixture.h"

namespace keyward::hierarchy {
namespace {

using testing::hierarchy_env;

bool is_nss() { return keyward::testing::module_under_test() == keyward::testing::ModuleKind::nss; }

// A KeyHierarchy with its own connection (own anchor session and login) to the token at `uri`.
std::unique_ptr<KeyHierarchy> own_hierarchy(const std::string& uri) {
  auto parsed = p11::TokenUri::parse(uri);
  if (!parsed) return nullptr;
  auto connection = p11::Connection::open(*parsed);
  if (!connection) {
    ADD_FAILURE() << connection.error().message;
    return nullptr;
  }
  return std::make_unique<KeyHierarchy>(std::make_shared<p11::SessionPool>(*connection),
                                        HierarchyOptions{.accept_module_limits = is_nss()});
}

std::size_t objects_labelled(p11::SessionPool& pool, const std::string& label, CK_OBJECT_CLASS object_class) {
  auto lease = pool.acquire();
  EXPECT_TRUE(lease);
  p11::AttributeTemplate match;
  match.set_ulong(CKA_CLASS, object_class).set_string(CKA_LABEL, label);
  auto found = lease->session().find_objects(match);
  EXPECT_TRUE(found) << found.error().message;
  return found ? found->size() : 0;
}

// A fresh family / token per run, so that --gtest_repeat starts from nothing each time.
std::string fresh_name(const char* prefix) {
  static int runs = 0;
  return prefix + std::to_string(++runs);
}

constexpr int kThreads = 6;
constexpr int kPerThread = 2;

TEST(KekVersions, ConcurrentCreatorsGetDistinctConsecutiveVersions) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  const std::string family = fresh_name("race");
  std::vector<std::unique_ptr<KeyHierarchy>> creators;
  for (int i = 0; i < kThreads; ++i) {
    creators.push_back(own_hierarchy(keyward::testing::test_token().uri));
    ASSERT_NE(creators.back(), nullptr);
  }
  ASSERT_TRUE(creators[0]->create_kek(family));  // v1, so that every racer sees the same newest version
  std::barrier start(kThreads);
  std::mutex mutex;
  std::vector<std::uint32_t> versions{1};
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      for (int n = 0; n < kPerThread; ++n) {
        auto created = creators[static_cast<std::size_t>(i)]->create_kek(family);
        std::lock_guard lock(mutex);
        if (created) versions.push_back(created->info.ref.version);
        else failures.push_back(created.error().message);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(failures.empty()) << failures.front();
  std::sort(versions.begin(), versions.end());
  std::vector<std::uint32_t> expected(kThreads * kPerThread + 1);
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<std::uint32_t>(i + 1);
  EXPECT_EQ(versions, expected) << "every creator must get its own, consecutive version";
  const bool blobs = env->hierarchy->module_profile()->data_objects;
  for (std::uint32_t v = 1; v <= expected.size(); ++v) {
    EXPECT_EQ(objects_labelled(*env->pool, kek_label(family, v), CKO_SECRET_KEY), 1u) << "v" << v;
    EXPECT_EQ(objects_labelled(*env->pool, kek_blob_label(family, v), CKO_DATA), blobs ? 1u : 0u) << "v" << v;
  }
  auto latest = env->hierarchy->latest_kek_version(family);
  ASSERT_TRUE(latest);
  EXPECT_EQ(*latest, expected.size());
  // Every version is usable: a lookup by label finds exactly one key.
  for (std::uint32_t v = 1; v <= expected.size(); ++v) {
    auto dek = env->hierarchy->generate_dek(KekRef{family, v});
    EXPECT_TRUE(dek) << "v" << v << ": " << dek.error().message;
  }
}

TEST(KekVersions, ConcurrentRootCreatorsGetDistinctVersions) {
  if (!keyward::testing::can_make_more_tokens()) GTEST_SKIP() << "NSS softoken has one token per database: no spare token";
  const auto token = keyward::testing::make_another_token(fresh_name("kw-root-race-"));
  std::vector<std::unique_ptr<KeyHierarchy>> creators;
  for (int i = 0; i < kThreads; ++i) {
    creators.push_back(own_hierarchy(token.uri));
    ASSERT_NE(creators.back(), nullptr);
  }
  std::barrier start(kThreads);
  std::mutex mutex;
  std::vector<std::uint32_t> versions;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto root = creators[static_cast<std::size_t>(i)]->create_generated_root(/*new_version=*/true);
      std::lock_guard lock(mutex);
      if (root) versions.push_back(root->version);
      else failures.push_back(root.error().message);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(failures.empty()) << failures.front();
  std::sort(versions.begin(), versions.end());
  EXPECT_EQ(versions, (std::vector<std::uint32_t>{1, 2, 3, 4, 5, 6}));
  for (std::uint32_t v = 1; v <= kThreads; ++v)
    EXPECT_EQ(objects_labelled(creators[0]->pool(), root_label(v), CKO_SECRET_KEY), 1u) << "root v" << v;
}

TEST(KekVersions, DestroyedVersionNumbersAreNeverReused) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  if (!env->hierarchy->module_profile()->data_objects)
    GTEST_SKIP() << "NSS softoken keeps no CKO_DATA token objects: a destroyed version leaves no record";
  const std::string family = fresh_name("reuse");
  ASSERT_TRUE(env->hierarchy->create_kek(family));
  auto v2 = env->hierarchy->create_kek(family);
  ASSERT_TRUE(v2);
  ASSERT_TRUE(env->hierarchy->destroy_kek(v2->info.ref));
  auto next = env->hierarchy->create_kek(family);
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->info.ref.version, 3u) << "v2 named a destroyed key: its label must not name another one";
}

TEST(KekVersions, CheckAfterRefusesALabelHeldTwice) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto lease = env->pool->acquire();
  ASSERT_TRUE(lease);
  auto& session = lease->session();
  const std::string label = "keyward/kek/twice/v1";
  auto make = [&] {
    p11::AttributeTemplate t;
    t.set_ulong(CKA_CLASS, CKO_SECRET_KEY).set_ulong(CKA_KEY_TYPE, CKK_AES).set_ulong(CKA_VALUE_LEN, 32)
        .set_bool(CKA_TOKEN, false).set_string(CKA_LABEL, label);
    auto key = session.generate_key(p11::aes_key_gen(), t);
    EXPECT_TRUE(key) << key.error().message;
    return key ? *key : CK_INVALID_HANDLE;
  };
  const auto first = make();
  EXPECT_TRUE(require_sole_object(session, label, CKO_SECRET_KEY));
  const auto second = make();
  auto refused = require_sole_object(session, label, CKO_SECRET_KEY);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find(label), std::string::npos) << refused.error().message;
  (void)session.destroy_object(first);
  (void)session.destroy_object(second);
}

}  // namespace
}  // namespace keyward::hierarchy
