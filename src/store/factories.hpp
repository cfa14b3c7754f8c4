// Constructors of the concrete stores, called by open_store() after it has parsed the settings.
// Each returns an unmigrated store; callers run migrate() when they need the schema.
#pragma once

#include <memory>
#include <string>

#include "core/error.hpp"
#include "store/store.hpp"

namespace job_fetcher::store {

// Opens (creating if missing) the SQLite database file at `path`. A directory that does not exist
// or cannot be written is a config error naming the path; a database that cannot be opened is a
// store error.
// With `existing_only`, the file must exist and its journal mode is left alone (for commands
// that only read).
result<std::unique_ptr<job_store>> make_sqlite_store(const std::string& path,
                                                     bool existing_only = false);

// Connects to PostgreSQL with a libpq connection string or URI ("postgres://user@host/db").
// An unreachable server or a rejected login is a store error.
result<std::unique_ptr<job_store>> make_postgres_store(const std::string& conninfo);

// Builds a store that talks to PostgREST at settings.postgrest_url with settings.postgrest_key.
result<std::unique_ptr<job_store>> make_postgrest_store(const store_settings& settings);

// Wraps `store` so that several threads may share it: each call holds one mutex.
std::unique_ptr<job_store> make_synchronized(std::unique_ptr<job_store> store);

}  // namespace job_fetcher::store
