#include "pkcs11/attributes.h"

#include <gtest/gtest.h>

#include <cstring>

namespace keyward::p11 {
namespace {

TEST(AttributeTemplate, KeepsOrderAndReplacesInPlace) {
  AttributeTemplate t;
  t.set_bool(CKA_TOKEN, true).set_ulong(CKA_VALUE_LEN, 32).set_bool(CKA_MODIFIABLE, false);
  t.set_bool(CKA_TOKEN, false);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.data()[0].type, CKA_TOKEN);
  EXPECT_EQ(*static_cast<CK_BBOOL*>(t.data()[0].pValue), CK_FALSE);
  EXPECT_EQ(t.data()[2].type, CKA_MODIFIABLE);
  CK_ULONG len = 0;
  std::memcpy(&len, t.data()[1].pValue, sizeof len);
  EXPECT_EQ(len, 32u);
}

TEST(AttributeTemplate, NestedTemplateSurvivesCopies) {
  AttributeTemplate inner;
  inner.set_bool(CKA_EXTRACTABLE, false).set_bool(CKA_SENSITIVE, true);
  AttributeTemplate outer;
  outer.set_template(CKA_UNWRAP_TEMPLATE, inner).set_string(CKA_LABEL, "k");
  AttributeTemplate copy = outer;
  outer = AttributeTemplate();
  ASSERT_EQ(copy.size(), 2u);
  const CK_ATTRIBUTE& nested = copy.data()[0];
  ASSERT_EQ(nested.ulValueLen, 2 * sizeof(CK_ATTRIBUTE));
  auto* entries = static_cast<CK_ATTRIBUTE*>(nested.pValue);
  EXPECT_EQ(entries[0].type, CKA_EXTRACTABLE);
  EXPECT_EQ(*static_cast<CK_BBOOL*>(entries[1].pValue), CK_TRUE);
}

TEST(AttributeTemplate, EraseAndContains) {
  AttributeTemplate t;
  t.set_bool(CKA_ENCRYPT, false).set_bool(CKA_DECRYPT, false);
  EXPECT_TRUE(t.contains(CKA_DECRYPT));
  t.erase(CKA_DECRYPT);
  EXPECT_FALSE(t.contains(CKA_DECRYPT));
  EXPECT_EQ(t.size(), 1u);
}

TEST(AttributeNames, KnownAndUnknown) {
  EXPECT_EQ(attribute_name(CKA_SENSITIVE), "CKA_SENSITIVE");
  EXPECT_EQ(attribute_name(0x80001234UL), "CKA_0x80001234");
}

}  // namespace
}  // namespace keyward::p11
