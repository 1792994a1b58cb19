// A tampered wrapped key — a DEK from an envelope slot or a catalog row, a KEK blob — fails the
// RFC 3394 integrity check in the token. That is an authentication failure of the data (exit 1),
// not a token error (exit 3), whatever CK_RV the module chose for it (issue 9).
#include <gtest/gtest.h>

#include "tests/support/hierarchy_fixture.h"

namespace keyward::hierarchy {
namespace {

using testing::hierarchy_env;

void expect_integrity_failure(const Error& error, std::string_view what, std::size_t at) {
  EXPECT_EQ(error.category, ErrorCategory::authentication) << what << " byte " << at << ": " << error.message;
  EXPECT_EQ(exit_code_for(error.category), 1);
  EXPECT_NE(error.message.find("integrity check"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find(what), std::string::npos) << error.message;
}

TEST(TamperedWrappedKey, EveryAlteredByteOfAWrappedDekIsAnAuthenticationFailure) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto dek = env->hierarchy->generate_dek(env->payments.info.ref);
  ASSERT_TRUE(dek) << dek.error().message;
  for (std::size_t at = 0; at < dek->wrapped.size(); ++at) {
    auto bad = dek->wrapped;
    bad[at] ^= 0x01;
    auto unwrapped = env->hierarchy->unwrap_dek_for_cpu(env->payments.info.ref, bad);
    ASSERT_FALSE(unwrapped) << "flip at byte " << at << " unwrapped";
    expect_integrity_failure(unwrapped.error(), "wrapped DEK", at);
  }
  // Control: the untouched bytes still unwrap.
  EXPECT_TRUE(env->hierarchy->unwrap_dek_for_cpu(env->payments.info.ref, dek->wrapped));
}

TEST(TamperedWrappedKey, ADekWrappedUnderAnotherKekIsAnAuthenticationFailure) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto other = env->hierarchy->create_kek("tamper-other");
  ASSERT_TRUE(other) << other.error().message;
  auto dek = env->hierarchy->generate_dek(other->info.ref);
  ASSERT_TRUE(dek);
  auto unwrapped = env->hierarchy->unwrap_dek_for_cpu(env->payments.info.ref, dek->wrapped);
  ASSERT_FALSE(unwrapped);
  expect_integrity_failure(unwrapped.error(), "wrapped DEK", 0);
}

TEST(TamperedWrappedKey, RewrappingAnAlteredDekIsAnAuthenticationFailure) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto v1 = env->hierarchy->create_kek("tamper-rewrap");
  auto v2 = env->hierarchy->create_kek("tamper-rewrap");
  ASSERT_TRUE(v1 && v2);
  auto dek = env->hierarchy->generate_dek(v1->info.ref);
  ASSERT_TRUE(dek);
  auto bad = dek->wrapped;
  bad[17] ^= 0x80;
  auto rewrapped = env->hierarchy->rewrap_dek_in_token(v1->info.ref, v2->info.ref, bad);
  ASSERT_FALSE(rewrapped);
  expect_integrity_failure(rewrapped.error(), "wrapped DEK", 17);
}

TEST(TamperedWrappedKey, ImportingAnAlteredKekBlobIsAnAuthenticationFailure) {
  auto* env = hierarchy_env();
  ASSERT_NE(env, nullptr);
  auto blob = env->payments.blob;
  blob.kek_family = "tamper-import";  // a label the token does not hold yet
  for (std::size_t at : {std::size_t{0}, std::size_t{7}, std::size_t{8}, std::size_t{39}}) {
    auto bad = blob;
    bad.wrapped[at] ^= 0x01;
    auto imported = env->hierarchy->import_kek(bad);
    ASSERT_FALSE(imported) << "altered blob imported (byte " << at << ")";
    expect_integrity_failure(imported.error(), "KEK blob", at);
  }
}

}  // namespace
}  // namespace keyward::hierarchy
