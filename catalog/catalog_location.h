// Where the catalog lives, as users write it (`--catalog LOC`, KEYWARD_CATALOG, ClientOptions::catalog):
// a libpq connection URI (`postgresql://…` or `postgres://…`) names a PostgreSQL database, anything else
// is a SQLite file path. open_catalog picks the implementation.
//
// Passwords never travel in the location: a URI carrying one (`user:secret@host`, `?password=`) is
// refused wherever it comes from (argv is world-readable in /proc; the environment and ClientOptions
// are passed on to worker processes' command lines and land in messages). libpq finds the password
// itself: ~/.pgpass, PGPASSFILE, a service file (PGSERVICEFILE), or peer/certificate authentication.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "catalog/catalog.h"

namespace keyward::hierarchy {

enum class CatalogBackend { sqlite, postgres };

// postgres for a `postgresql://` or `postgres://` URI (scheme case-insensitive), sqlite otherwise.
CatalogBackend catalog_backend(std::string_view location);

// Usage error for an empty location or a PostgreSQL URI that carries a password.
Status check_catalog_location(std::string_view location);

// The location as messages may show it: a PostgreSQL URI with any password and query string removed
// (what remains names the server and database); a SQLite path unchanged.
std::string printable_catalog_location(std::string_view location);

struct CatalogOpenOptions {
  bool read_only = false;  // readers that must not write: no migration, writes fail with io
};

// Opens the catalog at `location` (check_catalog_location first). SQLite: SqliteCatalog::open(_read_only).
// PostgreSQL: PostgresCatalog::open; an unreachable server is ErrorCategory::database (exit 3), with
// the printable location in the message. The result is one connection: one thread at a time
// (LockedCatalog shares it).
Result<std::unique_ptr<Catalog>> open_catalog(const std::string& location, const CatalogOpenOptions& options = {});

}  // namespace keyward::hierarchy
