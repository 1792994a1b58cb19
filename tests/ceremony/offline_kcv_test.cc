#include "ceremony/offline_kcv.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "hierarchy/kek_blob.h"

namespace keyward::ceremony {
namespace {

// The worked example of docs/KEY-POLICY.md, so the document and the code cannot drift apart.
TEST(OfflineKcv, MatchesTheDocumentedWorkedExample) {
  auto key = hierarchy::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  ASSERT_TRUE(key);
  auto kcv = kw_fingerprint_of(SecretBytes::copy_of(*key));
  ASSERT_TRUE(kcv);
  EXPECT_EQ(*kcv, "88932ac6d0854777");
  std::ifstream doc(std::string(KEYWARD_SOURCE_DIR) + "/docs/KEY-POLICY.md");
  std::stringstream text;
  text << doc.rdbuf();
  EXPECT_NE(text.str().find(*kcv), std::string::npos) << "docs/KEY-POLICY.md's worked example is stale";
  EXPECT_NE(text.str().find("f1be09f86dc04c4de806aeb2007aba166b76e341af0e14b7e5a74c888eae3b02"), std::string::npos);
}

TEST(OfflineKcv, RefusesOtherKeySizes) { EXPECT_FALSE(kw_fingerprint_of(SecretBytes(16))); }

}  // namespace
}  // namespace keyward::ceremony
