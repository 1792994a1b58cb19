// KeyService under races (issue 9): a writer straddling a retire, racing first encrypts of one
// scope, readers while KEK versions come and go, and the expected-scope check.
#include "keyward/internal/key_service.h"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cstdio>
#include <set>
#include <thread>

#include "catalog/sqlite_catalog.h"
#include "hierarchy/token_objects.h"
#include "tests/support/hierarchy_fixture.h"

namespace keyward::hierarchy {
namespace {

std::string fresh_catalog(const std::string& name) {
  std::string path = keyward::testing::scratch_dir("key_service") + "/" + name + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

std::unique_ptr<SqliteCatalog> open_catalog(const std::string& path) {
  auto catalog = SqliteCatalog::open(path);
  EXPECT_TRUE(catalog) << catalog.error().message;
  return catalog ? std::move(*catalog) : nullptr;
}

const std::vector<std::uint8_t> kPlain{'s', 'e', 'c', 'r', 'e', 't'};

// Encrypts kPlain under `key`; decrypts it with a fresh cache (so the DEK is unwrapped from the
// token under the KEK version the catalog records now).
Status decrypts_from_scratch(KeyHierarchy& hierarchy, Catalog& catalog, const std::string& value) {
  DekCache cache;
  KeyService reader(hierarchy, catalog, cache);
  KW_ASSIGN_OR_RETURN(auto parsed, envelope::parse_field(value));
  KW_ASSIGN_OR_RETURN(auto key, reader.key_for_decryption(parsed.dek_id));
  KW_ASSIGN_OR_RETURN(auto plain, key.field_key->decrypt(parsed, envelope::EncryptionContext{}));
  if (!std::equal(plain.reveal().begin(), plain.reveal().end(), kPlain.begin(), kPlain.end()))
    return make_error(ErrorCategory::internal, "wrong plaintext");
  return {};
}

TEST(KeyService, WriterStraddlingARetireRecordsItsDekUnderTheNewestVersion) {
  auto* env = testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto& hierarchy = *env->hierarchy;
  ASSERT_TRUE(hierarchy.create_kek("straddle"));  // v1
  auto catalog = open_catalog(fresh_catalog("straddle"));
  DekCache cache;
  KeyService writer(hierarchy, *catalog, cache);
  int hook_calls = 0;
  // Between generating the scope's first DEK under v1 and recording it: start (v2 active, v1
  // decrypt-only), run (nothing references v1 yet) and retire v1, which destroys it in the token.
  writer.set_before_record_for_test([&] {
    if (hook_calls++ > 0) return;
    ASSERT_TRUE(hierarchy.create_kek("straddle"));
    ASSERT_TRUE(catalog->set_kek_version({"straddle", 1, KekState::decrypt_only, 0, 0}));
    ASSERT_TRUE(catalog->set_kek_version({"straddle", 2, KekState::active, 0, 0}));
    ASSERT_EQ(*catalog->references_to("straddle", 1), 0u) << "retire's check passes: no DEK references v1 yet";
    ASSERT_TRUE(catalog->set_kek_version({"straddle", 1, KekState::retired, 0, 0}));
    ASSERT_TRUE(hierarchy.destroy_kek(KekRef{"straddle", 1}));
  });
  auto key = writer.key_for_encryption("tenant:straddle", "straddle");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(hook_calls, 2) << "the DEK under v1 was refused once and regenerated";
  EXPECT_EQ(key->record.kek_version, 2u);
  auto value = key->field_key->encrypt(kPlain, envelope::FieldSuite::randomized, envelope::EncryptionContext{});
  ASSERT_TRUE(value);
  auto read = decrypts_from_scratch(hierarchy, *catalog, *value);
  EXPECT_TRUE(read) << "the value must decrypt after the retire: " << read.error().message;
  EXPECT_EQ(*catalog->references_to("straddle", 1), 0u);
  EXPECT_EQ(catalog->deks_for_scope("tenant:straddle")->size(), 1u);
}

TEST(KeyService, CatalogRefusesADekUnderAStaleKekVersion) {
  auto catalog = open_catalog(fresh_catalog("stale"));
  const DekRecord under_v1{envelope::DekId{1}, "s", "fam", 1, std::vector<std::uint8_t>(40, 1), DekState::active, 0, 0};
  ASSERT_TRUE(catalog->create_dek(under_v1)) << "no versions recorded: nothing contradicts v1";
  ASSERT_TRUE(catalog->set_kek_version({"fam", 1, KekState::decrypt_only, 0, 0}));
  ASSERT_TRUE(catalog->set_kek_version({"fam", 2, KekState::active, 0, 0}));
  DekRecord late = under_v1;
  late.dek_id = envelope::DekId{2};
  auto refused = catalog->create_dek(late);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().category, ErrorCategory::policy);
  late.scope = "t";
  auto first = catalog->create_first_dek(late);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->outcome, FirstDek::Outcome::stale_kek_version);
  EXPECT_FALSE(*catalog->find_dek(late.dek_id)) << "nothing written";
  late.kek_version = 2;
  ASSERT_TRUE(catalog->create_dek(late));
  ASSERT_TRUE(catalog->set_kek_version({"fam", 2, KekState::retired, 0, 0}));
  late.dek_id = envelope::DekId{3};
  EXPECT_FALSE(catalog->create_dek(late)) << "a retired version is stale too";
}

TEST(KeyService, AWriterGivesUpWithAClearErrorWhenTheVersionKeepsChanging) {
  auto* env = testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto& hierarchy = *env->hierarchy;
  ASSERT_TRUE(hierarchy.create_kek("churn"));
  auto catalog = open_catalog(fresh_catalog("churn"));
  DekCache cache;
  KeyService writer(hierarchy, *catalog, cache);
  std::uint32_t next = 2;
  writer.set_before_record_for_test([&] {
    ASSERT_TRUE(catalog->set_kek_version({"churn", next, KekState::active, 0, 0}));  // always one ahead
    ++next;
  });
  auto key = writer.key_for_encryption("tenant:churn", "churn");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().category, ErrorCategory::policy);
  EXPECT_NE(key.error().message.find("rotation in progress"), std::string::npos) << key.error().message;
  EXPECT_TRUE(catalog->deks_for_scope("tenant:churn")->empty());
}

TEST(KeyService, RacingFirstEncryptsOfOneScopeShareOneDek) {
  auto* env = testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto& hierarchy = *env->hierarchy;
  const std::string path = fresh_catalog("race");
  ASSERT_TRUE(open_catalog(path));  // created and migrated once
  constexpr int kWriters = 6;
  std::barrier all_generated(kWriters);
  std::vector<std::string> values(kWriters);
  std::vector<envelope::DekId> used(kWriters);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto catalog = open_catalog(path);  // one connection per writer, as separate processes have
      DekCache cache;
      KeyService writer(hierarchy, *catalog, cache);
      // Every writer has generated its DEK before any records one: the widest race.
      writer.set_before_record_for_test([&] { all_generated.arrive_and_wait(); });
      auto key = writer.key_for_encryption("tenant:new", "payments");
      if (!key) {
        ++failures;
        ADD_FAILURE() << key.error().message;
        return;
      }
      used[static_cast<std::size_t>(w)] = key->record.dek_id;
      auto value = key->field_key->encrypt(kPlain, envelope::FieldSuite::randomized, envelope::EncryptionContext{});
      if (value) values[static_cast<std::size_t>(w)] = *value;
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0);
  auto catalog = open_catalog(path);
  auto deks = catalog->deks_for_scope("tenant:new");
  ASSERT_TRUE(deks);
  ASSERT_EQ(deks->size(), 1u) << "exactly one DEK recorded for the scope; the losers' were never recorded";
  EXPECT_EQ((*deks)[0].state, DekState::active);
  EXPECT_EQ(std::set<envelope::DekId>(used.begin(), used.end()).size(), 1u) << "every writer used the winner's DEK";
  for (const auto& value : values) {
    auto read = decrypts_from_scratch(hierarchy, *catalog, value);
    EXPECT_TRUE(read) << read.error().message;
  }
}

TEST(KeyService, ExpectedScopeRefusesAValueOfAnotherScope) {
  auto* env = testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto& hierarchy = *env->hierarchy;
  const std::string path = fresh_catalog("scopes");
  auto catalog = open_catalog(path);
  DekCache cache;
  KeyService service(hierarchy, *catalog, cache);
  auto acme = service.key_for_encryption("tenant:acme", "payments");
  auto other = service.key_for_encryption("tenant:other", "payments");
  ASSERT_TRUE(acme && other);
  auto value = acme->field_key->encrypt(kPlain, envelope::FieldSuite::randomized, envelope::EncryptionContext{});
  auto parsed = envelope::parse_field(*value);
  ASSERT_TRUE(parsed);
  // Copied into tenant:other's row, read as tenant:other's: refused, naming neither scope.
  auto copied = service.key_for_decryption(parsed->dek_id, std::string("tenant:other"));
  ASSERT_FALSE(copied);
  EXPECT_EQ(copied.error().category, ErrorCategory::policy);
  EXPECT_NE(copied.error().message.find("different scope"), std::string::npos);
  EXPECT_EQ(copied.error().message.find("tenant:"), std::string::npos) << copied.error().message;
  EXPECT_TRUE(service.key_for_decryption(parsed->dek_id, std::string("tenant:acme")));

  // Without an expected scope: a version 2 value whose bound scope is not its DEK's catalog scope
  // (the catalog row was moved to another scope) fails authentication.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE deks SET scope = 'tenant:moved' WHERE scope = 'tenant:acme'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  DekCache fresh_cache;
  KeyService reader(hierarchy, *catalog, fresh_cache);
  auto key = reader.key_for_decryption(parsed->dek_id);
  ASSERT_TRUE(key) << key.error().message;
  auto plain = key->field_key->decrypt(*parsed, envelope::EncryptionContext{});
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().category, ErrorCategory::authentication);
}

TEST(KeyService, ReadersNeverFailWhileKekVersionsAreCreatedAndDestroyed) {
  auto* env = testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto& hierarchy = *env->hierarchy;
  ASSERT_TRUE(hierarchy.create_kek("readers"));  // v1, what the values are under
  ASSERT_TRUE(hierarchy.create_kek("bystander"));
  const std::string path = fresh_catalog("readers");
  std::vector<std::string> values;
  {
    auto catalog = open_catalog(path);
    DekCache cache;
    KeyService writer(hierarchy, *catalog, cache);
    for (int scope = 0; scope < 4; ++scope) {
      auto key = writer.key_for_encryption("tenant:" + std::to_string(scope), "readers");
      ASSERT_TRUE(key) << key.error().message;
      auto value = key->field_key->encrypt(kPlain, envelope::FieldSuite::randomized, envelope::EncryptionContext{});
      ASSERT_TRUE(value);
      values.push_back(*value);
    }
  }
  std::atomic<bool> stop{false};
  std::atomic<int> churned{0};
  // Another thread creates and destroys KEK versions of another family and of the readers' family.
  std::thread churn([&] {
    while (!stop) {
      for (const char* family : {"bystander", "readers"}) {
        auto made = hierarchy.create_kek(family);
        if (made) {
          (void)hierarchy.destroy_kek(made->info.ref);
          ++churned;
        }
      }
    }
  });
  std::atomic<int> reads{0}, failures{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      auto catalog = open_catalog(path);
      for (int i = 0; i < 150 && (i < 20 || churned.load() < 6); ++i) {
        auto read = decrypts_from_scratch(hierarchy, *catalog, values[static_cast<std::size_t>(i) % values.size()]);
        ++reads;
        if (!read) {
          ++failures;
          ADD_FAILURE() << "read " << i << ": " << read.error().message;
        }
      }
    });
  }
  for (auto& reader : readers) reader.join();
  stop = true;
  churn.join();
  EXPECT_EQ(failures.load(), 0) << "of " << reads.load() << " reads during " << churned.load() << " KEK creations";
  EXPECT_GT(churned.load(), 0);

  // A read lists no token objects when the catalog records the family's versions (a rotation
  // recorded them), and at most once per KeyService when it records none.
  auto catalog = open_catalog(path);
  DekCache cache;
  KeyService unrecorded(hierarchy, *catalog, cache);
  auto before = token_object_listings();
  for (int i = 0; i < 50; ++i) {
    auto parsed = envelope::parse_field(values[static_cast<std::size_t>(i) % values.size()]);
    ASSERT_TRUE(unrecorded.key_for_decryption(parsed->dek_id));
  }
  EXPECT_LE(token_object_listings() - before, 1u);
  ASSERT_TRUE(catalog->set_kek_version({"readers", 1, KekState::active, 0, 0}));
  KeyService recorded(hierarchy, *catalog, cache);
  before = token_object_listings();
  for (int i = 0; i < 50; ++i) {
    auto parsed = envelope::parse_field(values[static_cast<std::size_t>(i) % values.size()]);
    ASSERT_TRUE(recorded.key_for_decryption(parsed->dek_id));
  }
  EXPECT_EQ(token_object_listings() - before, 0u);
}

}  // namespace
}  // namespace keyward::hierarchy
