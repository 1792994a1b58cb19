// Dual-key reads and lazy rewrap: an envelope and a catalog entry under KEK v1 still decrypt after
// v2 exists, the API says they are under an older version, and rewrapping touches only the key section.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "envelope/envelope_file.h"
#include "envelope/key_slots.h"
#include "hierarchy/envelope_keys.h"
#include "keyward/internal/key_service.h"
#include "catalog/sqlite_catalog.h"
#include "tests/support/hierarchy_fixture.h"

namespace keyward::hierarchy {
namespace {

std::vector<char> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(DualKey, EnvelopeUnderAnOlderVersionDecryptsAndRewrapsInPlace) {
  auto* env = testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto& hierarchy = *env->hierarchy;
  ASSERT_TRUE(hierarchy.create_kek("dualkey"));
  const std::string dir = keyward::testing::scratch_dir("dualkey");
  {
    std::ofstream(dir + "/plain", std::ios::binary) << std::string(300000, 'z');
  }
  auto key = new_data_key(hierarchy, "dualkey");
  ASSERT_TRUE(key);
  ASSERT_TRUE(envelope::encrypt_file_atomically(dir + "/plain", dir + "/env", *key, {},
                                                envelope::EncryptOptions{64 * 1024, 2}));
  auto v2 = hierarchy.create_kek("dualkey");
  ASSERT_TRUE(v2);
  // v1 still decrypts (dual-key period).
  auto summary = envelope::decrypt_file_atomically(dir + "/env", dir + "/out1", {}, token_dek_resolver(hierarchy));
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->prefix.key_section.kek_version, 1u);
  const auto before = read_all(dir + "/env");
  ASSERT_TRUE(rewrap_envelope_key_section(hierarchy, dir + "/env", v2->info.ref));
  const auto after = read_all(dir + "/env");
  auto prefix = envelope::read_envelope_prefix(dir + "/env");
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->key_section.kek_version, 2u);
  ASSERT_EQ(before.size(), after.size());
  EXPECT_TRUE(std::equal(before.begin() + static_cast<long>(prefix->body_offset()), before.end(),
                         after.begin() + static_cast<long>(prefix->body_offset())))
      << "the body must not change";
  EXPECT_TRUE(envelope::decrypt_file_atomically(dir + "/env", dir + "/out2", {}, token_dek_resolver(hierarchy)));
  EXPECT_EQ(read_all(dir + "/out2"), read_all(dir + "/plain"));
}

TEST(DualKey, CatalogEntryUnderAnOlderVersionIsFlaggedAndRewrapped) {
  auto* env = testing::hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto& hierarchy = *env->hierarchy;
  ASSERT_TRUE(hierarchy.create_kek("dualcat"));
  const std::string path = keyward::testing::scratch_dir("dualkey") + "/catalog.db";
  std::remove(path.c_str());
  auto catalog = SqliteCatalog::open(path);
  ASSERT_TRUE(catalog);
  DekCache cache;
  KeyService service(hierarchy, **catalog, cache);
  auto first = service.key_for_encryption("tenant:x", "dualcat");
  ASSERT_TRUE(first) << first.error().message;
  auto value = first->field_key->encrypt(std::vector<std::uint8_t>{1, 2, 3}, envelope::FieldSuite::randomized,
                                         envelope::EncryptionContext{});
  ASSERT_TRUE(value);
  ASSERT_TRUE(hierarchy.create_kek("dualcat"));
  auto again = service.key_for_decryption(first->record.dek_id);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->under_older_kek_version);
  ASSERT_TRUE(service.rewrap_catalog_entry(first->record.dek_id));
  auto record = (*catalog)->find_dek(first->record.dek_id);
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->kek_version, 2u);
  cache.clear();  // force an unwrap under the new version
  auto rewrapped = service.key_for_decryption(first->record.dek_id);
  ASSERT_TRUE(rewrapped);
  EXPECT_FALSE(rewrapped->under_older_kek_version);
  auto plain = rewrapped->field_key->decrypt(*envelope::parse_field(*value), envelope::EncryptionContext{});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->size(), 3u);
}

}  // namespace
}  // namespace keyward::hierarchy
