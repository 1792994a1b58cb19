#include "catalog/catalog_location.h"

#include <gtest/gtest.h>

namespace keyward::hierarchy {
namespace {

TEST(CatalogLocation, PostgresUrisChooseThePostgresBackendAndEverythingElseIsAPath) {
  EXPECT_EQ(catalog_backend("postgresql://db.example/keyward"), CatalogBackend::postgres);
  EXPECT_EQ(catalog_backend("postgres://db.example/keyward"), CatalogBackend::postgres);
  EXPECT_EQ(catalog_backend("PostgreSQL://db.example/keyward"), CatalogBackend::postgres);
  EXPECT_EQ(catalog_backend("keyward-catalog.db"), CatalogBackend::sqlite);
  EXPECT_EQ(catalog_backend("/srv/postgresql/catalog.db"), CatalogBackend::sqlite);
  EXPECT_EQ(catalog_backend("postgresql:catalog.db"), CatalogBackend::sqlite) << "not a URI without //";
}

TEST(CatalogLocation, AUriCarryingAPasswordIsRefusedWithoutRepeatingIt) {
  for (const std::string uri : {"postgresql://app:s3cr3t-pw@db.example/keyward", "postgres://app:s3cr3t-pw@/keyward?host=/run",
                                "postgresql://db.example/keyward?user=app&password=s3cr3t-pw",
                                "postgresql://db.example/keyward?sslmode=require&pass%77ord=s3cr3t-pw",
                                "postgresql://app:@db.example/keyward"}) {
    auto checked = check_catalog_location(uri);
    ASSERT_FALSE(checked) << uri;
    EXPECT_EQ(checked.error().category, ErrorCategory::usage);
    EXPECT_EQ(checked.error().message.find("s3cr3t"), std::string::npos) << checked.error().message;
    EXPECT_NE(checked.error().message.find(".pgpass"), std::string::npos) << "says where the password goes";
    auto opened = open_catalog(uri);
    ASSERT_FALSE(opened) << "open_catalog applies the same rule: " << uri;
    EXPECT_EQ(opened.error().category, ErrorCategory::usage);
  }
  EXPECT_TRUE(check_catalog_location("postgresql://app@db.example:5433/keyward?sslmode=verify-full"));
  EXPECT_TRUE(check_catalog_location("postgresql:///keyward?host=/var/run/postgresql&passfile=/etc/keyward/pgpass"));
  EXPECT_TRUE(check_catalog_location("/srv/catalog:with:colons@and-at.db")) << "a SQLite path is a path";
  EXPECT_FALSE(check_catalog_location("")) << "empty";
}

TEST(CatalogLocation, PrintableLocationKeepsServerAndDatabaseAndDropsSecrets) {
  EXPECT_EQ(printable_catalog_location("postgresql://app:pw@db.example:5433/keyward?sslpassword=x&host=/run/pg&sslmode=require"),
            "postgresql://app@db.example:5433/keyward?host=/run/pg");
  EXPECT_EQ(printable_catalog_location("/srv/catalog.db"), "/srv/catalog.db");
}

}  // namespace
}  // namespace keyward::hierarchy
