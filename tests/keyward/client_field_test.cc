// Fields through the public API: both modes, the context and scope checks, tampering, lookups that
// find the row, key information, and lazy rewrap of a value's DEK.
#include <sqlite3.h>

#include "catalog/sqlite_catalog.h"
#include "tests/keyward/client_support.h"

namespace keyward {
namespace {

using api_testing::field_options;
using api_testing::open_test_client;
using api_testing::text;

const EncryptionContext kEmailColumn{{"table", "users"}, {"column", "email"}};

FieldOptions column(const std::string& scope, FieldMode mode = FieldMode::randomized) {
  return field_options(scope, "payments", mode, kEmailColumn);
}

TEST(ClientFields, RandomizedValuesRoundTripAndDiffer) {
  auto client = open_test_client("fields-random");
  ASSERT_TRUE(client);
  auto field = client->field(column("tenant:acme/users/email"));
  ASSERT_TRUE(field) << field.error().message;
  EXPECT_EQ(field->scope(), "tenant:acme/users/email");
  auto first = field->encrypt("alice@example.com");
  auto second = field->encrypt("alice@example.com");
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(second);
  EXPECT_NE(*first, *second) << "a fresh nonce per value";
  auto plain = field->decrypt(*first);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(text(plain->value), "alice@example.com");
  EXPECT_FALSE(plain->under_older_kek_version);
  auto empty = field->encrypt("");
  ASSERT_TRUE(empty);
  auto empty_plain = field->decrypt(*empty);
  ASSERT_TRUE(empty_plain);
  EXPECT_TRUE(empty_plain->value.empty());
}

TEST(ClientFields, DeterministicValuesAreEqualAndLookupFindsTheRow) {
  auto client = open_test_client("fields-lookup");
  ASSERT_TRUE(client);
  auto field = client->field(column("tenant:acme/users/email", FieldMode::deterministic));
  ASSERT_TRUE(field) << field.error().message;
  auto alice = field->encrypt("alice@example.com");
  ASSERT_TRUE(alice) << alice.error().message;
  auto alice_again = field->encrypt("alice@example.com");
  ASSERT_TRUE(alice_again);
  EXPECT_EQ(*alice, *alice_again);
  auto bob = field->encrypt("bob@example.com");
  ASSERT_TRUE(bob);
  EXPECT_NE(*alice, *bob);

  // A table with the encrypted column and a blind index beside it.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE users (id INTEGER, email TEXT, email_index TEXT)", nullptr, nullptr, nullptr), SQLITE_OK);
  auto insert = [&](int id, const std::string& email_text, const std::string& plain) {
    auto index = field->blind_indexes(plain, 12);
    ASSERT_TRUE(index) << index.error().message;
    ASSERT_EQ(index->size(), 1u);
    const std::string sql = "INSERT INTO users VALUES (" + std::to_string(id) + ", '" + email_text + "', '" + index->front().text + "')";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  };
  insert(1, *alice, "alice@example.com");
  insert(2, *bob, "bob@example.com");
  auto find = [&](const char* column_name, const std::vector<LookupValue>& probes) {
    std::vector<int> ids;
    for (const auto& probe : probes) {
      sqlite3_stmt* statement = nullptr;
      const std::string sql = std::string("SELECT id FROM users WHERE ") + column_name + " = ?";
      EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr), SQLITE_OK);
      sqlite3_bind_text(statement, 1, probe.text.c_str(), static_cast<int>(probe.text.size()), SQLITE_TRANSIENT);
      while (sqlite3_step(statement) == SQLITE_ROW) ids.push_back(sqlite3_column_int(statement, 0));
      sqlite3_finalize(statement);
    }
    return ids;
  };
  auto probes = field->lookup_values("bob@example.com");
  ASSERT_TRUE(probes) << probes.error().message;
  ASSERT_EQ(probes->size(), 1u);
  EXPECT_EQ(probes->front().kek_family, "payments");
  EXPECT_EQ(find("email", *probes), std::vector<int>{2});
  auto index_probes = field->blind_indexes("alice@example.com", 12);
  ASSERT_TRUE(index_probes);
  EXPECT_EQ(find("email_index", *index_probes), std::vector<int>{1});
  auto nobody = field->lookup_values("carol@example.com");
  ASSERT_TRUE(nobody);
  EXPECT_TRUE(find("email", *nobody).empty());
  auto with_unscoped = field->lookup_values("bob@example.com", true);
  ASSERT_TRUE(with_unscoped);
  ASSERT_EQ(with_unscoped->size(), 2u);
  EXPECT_TRUE(with_unscoped->back().unscoped);
  sqlite3_close(db);

  auto plain = field->decrypt(*bob);
  ASSERT_TRUE(plain);
  EXPECT_EQ(text(plain->value), "bob@example.com");
}

TEST(ClientFields, LookupsNeedADeterministicFieldAndAScopeWithDeks) {
  auto client = open_test_client("fields-lookup-rules");
  ASSERT_TRUE(client);
  auto randomized = client->field(column("tenant:rules"));
  ASSERT_TRUE(randomized);
  auto refused = randomized->lookup_values("x");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().category, ErrorCategory::usage);
  auto fresh = client->field(column("tenant:no-deks-yet", FieldMode::deterministic));
  ASSERT_TRUE(fresh);
  auto none = fresh->lookup_values("x");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(fresh->encrypt("x"));
  auto one = fresh->lookup_values("x");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->size(), 1u) << "a scope without DEKs is not pinned: its first DEK is seen";
}

TEST(ClientFields, WrongContextAndAFlippedByteAreAuthenticationFailures) {
  auto client = open_test_client("fields-tamper");
  ASSERT_TRUE(client);
  auto field = client->field(column("tenant:acme/users/email"));
  ASSERT_TRUE(field);
  auto value = field->encrypt("alice@example.com");
  ASSERT_TRUE(value);

  auto other_row = column("tenant:acme/users/email");
  other_row.context["row"] = "7";
  auto other = client->field(other_row);
  ASSERT_TRUE(other);
  auto wrong_context = other->decrypt(*value);
  ASSERT_FALSE(wrong_context);
  EXPECT_EQ(wrong_context.error().category, ErrorCategory::authentication);

  std::string flipped = *value;
  const std::size_t at = flipped.size() - 3;  // in the tag, leaving the DEK id intact
  flipped[at] = flipped[at] == 'A' ? 'B' : 'A';
  auto tampered = field->decrypt(flipped);
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().category, ErrorCategory::authentication);
  EXPECT_EQ(tampered.error().message.find("alice"), std::string::npos);

  auto garbage = field->decrypt("not a value");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().category, ErrorCategory::corrupt_input);
}

TEST(ClientFields, AValueOfAnotherScopeIsRefusedUnlessAnyScopeIsAsked) {
  auto client = open_test_client("fields-scope");
  ASSERT_TRUE(client);
  auto acme = client->field(column("tenant:acme"));
  auto globex = client->field(column("tenant:globex"));
  ASSERT_TRUE(acme);
  ASSERT_TRUE(globex);
  auto acme_value = acme->encrypt("acme secret");
  ASSERT_TRUE(acme_value);
  auto refused = globex->decrypt(*acme_value);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().category, ErrorCategory::policy);
  EXPECT_EQ(refused.error().message.find("tenant:acme"), std::string::npos) << "the other scope is not named";

  FieldOptions any_scope;
  any_scope.context = kEmailColumn;
  any_scope.decrypt_any_scope = true;
  auto reader = client->field(any_scope);
  ASSERT_TRUE(reader) << reader.error().message;
  auto plain = reader->decrypt(*acme_value);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(text(plain->value), "acme secret");
  auto no_scope_encrypt = reader->encrypt("x");
  ASSERT_FALSE(no_scope_encrypt);
  EXPECT_EQ(no_scope_encrypt.error().category, ErrorCategory::usage);
}

TEST(ClientFields, EmptyScopeEmptyContextKeyAndUnknownFamilyAreRefused) {
  auto client = open_test_client("fields-refusals");
  ASSERT_TRUE(client);
  auto empty_scope = client->field(field_options("", "payments"));
  ASSERT_FALSE(empty_scope);
  EXPECT_EQ(empty_scope.error().category, ErrorCategory::usage);

  auto empty_key = client->field(field_options("tenant:x", "payments", FieldMode::randomized, {{"", "v"}}));
  ASSERT_FALSE(empty_key);
  EXPECT_EQ(empty_key.error().category, ErrorCategory::usage);

  auto unknown = client->field(field_options("tenant:unknown-family", "no-such-family"));
  ASSERT_TRUE(unknown) << "the family is needed by the first encrypt, not by field()";
  auto value = unknown->encrypt("x");
  ASSERT_FALSE(value);
  EXPECT_EQ(value.error().category, ErrorCategory::not_found);

  auto no_family = client->field(field_options("tenant:no-family", ""));
  ASSERT_TRUE(no_family);
  auto unnamed = no_family->encrypt("x");
  ASSERT_FALSE(unnamed);
  EXPECT_EQ(unnamed.error().category, ErrorCategory::usage);

  auto field = client->field(column("tenant:too-long"));
  ASSERT_TRUE(field);
  auto too_long = field->encrypt(std::string(64 * 1024 + 1, 'x'));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().category, ErrorCategory::policy);
}

TEST(ClientFields, KeyInfoNamesTheDekAndItsKekVersion) {
  auto client = open_test_client("fields-info");
  ASSERT_TRUE(client);
  auto field = client->field(column("tenant:info"));
  ASSERT_TRUE(field);
  auto key = field->encryption_key_info();
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->scope, "tenant:info");
  EXPECT_EQ(key->kek_family, "payments");
  auto newest = client->newest_kek_version("payments");
  ASSERT_TRUE(newest);
  EXPECT_EQ(key->kek_version, *newest);
  auto value = field->encrypt("x");
  ASSERT_TRUE(value);
  auto info = client->field_key_info(*value);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->dek_id, key->dek_id);
  EXPECT_EQ(info->kek_version, key->kek_version);
  EXPECT_EQ(info->scope, "tenant:info");
  EXPECT_FALSE(info->under_older_kek_version);
  auto lookup_keys = field->lookup_key_info();
  ASSERT_TRUE(lookup_keys);
  ASSERT_EQ(lookup_keys->size(), 1u);
  EXPECT_EQ(lookup_keys->front().dek_id, key->dek_id);
}

TEST(ClientFields, RewrapMovesAValuesDekToTheNewestKekVersionAndItStillDecrypts) {
  ASSERT_TRUE(api_testing::create_kek_version("fields-lazy"));  // v1
  auto options = api_testing::test_options("fields-rewrap");
  // The rotation below is committed through another catalog connection, as another process would:
  // this client sees it on the next value only with revalidation on every value.
  options.dek_cache.revalidate_after = std::chrono::milliseconds(0);
  auto client = open_test_client(options);
  ASSERT_TRUE(client);
  auto field = client->field(field_options("tenant:lazy", "fields-lazy", FieldMode::randomized, kEmailColumn));
  ASSERT_TRUE(field);
  auto value = field->encrypt("rotate me");
  ASSERT_TRUE(value) << value.error().message;
  auto before = client->field_key_info(*value);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->kek_version, 1u);

  // A rotation starts as keyward-rotate start does: v2 in the token, recorded active in the catalog.
  ASSERT_TRUE(api_testing::create_kek_version("fields-lazy"));
  {
    auto catalog = hierarchy::SqliteCatalog::open(options.catalog);
    ASSERT_TRUE(catalog) << catalog.error().message;
    ASSERT_TRUE((*catalog)->set_kek_version({"fields-lazy", 1, hierarchy::KekState::decrypt_only, 0, 0}));
    ASSERT_TRUE((*catalog)->set_kek_version({"fields-lazy", 2, hierarchy::KekState::active, 0, 0}));
  }
  auto read = field->decrypt(*value);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_TRUE(read->under_older_kek_version) << "the read says the value's DEK is under an older version";

  auto after = client->rewrap_field_key(*value);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->kek_version, 2u);
  EXPECT_EQ(after->dek_id, before->dek_id);
  EXPECT_FALSE(after->under_older_kek_version);
  auto reread = field->decrypt(*value);
  ASSERT_TRUE(reread) << reread.error().message;
  EXPECT_EQ(text(reread->value), "rotate me");
  EXPECT_FALSE(reread->under_older_kek_version);
  auto info = client->field_key_info(*value);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->kek_version, 2u);
}

}  // namespace
}  // namespace keyward
