// The PostgreSQL schema shared by the libpq store and the PostgREST store, and the JSON forms in
// which its SQL functions take and return rows. Both stores call the same SQL functions, so
// upsert, lease, ledger and token cache behave the same whichever way the database is reached.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/error.hpp"
#include "store/store.hpp"

namespace job_fetcher::store::postgres {

// One versioned migration. Every migration is idempotent on its own (IF NOT EXISTS, CREATE OR
// REPLACE), so the concatenated script can be replayed by hand.
struct migration {
  int version = 0;
  std::string_view name;
  std::string_view sql;
};

// The migrations in the order they apply.
const std::vector<migration>& migrations();

// Returns the newest schema version this build knows.
int latest_schema_version();

// The DDL of schema_migrations itself, run before any migration.
std::string_view migrations_table_sql();

// Builds the JSON object that upsert_postings() reads for one posting: every column, nulls
// included, decimals as strings so they never pass through floating point.
nlohmann::json posting_to_json(const upwork::posting& posting);

// Parses one element of read_postings(). A missing or mistyped field is a store error naming it.
result<stored_posting> stored_posting_from_json(const nlohmann::json& row);

// Parses one element of recent_runs().
result<run_record> run_record_from_json(const nlohmann::json& row);

// Builds the JSON object that finish_run() reads.
nlohmann::json run_record_to_json(const run_record& run);

// Parses the object of upsert_postings() / upsert_staged_postings().
result<upsert_counts> upsert_counts_from_json(const nlohmann::json& counts);

// Parses load_watermark(): null for a feed without a watermark.
result<std::optional<watermark>> watermark_from_json(const nlohmann::json& value);

// Parses read_token(): null when no unexpired token is cached.
result<std::optional<cached_token>> cached_token_from_json(const nlohmann::json& value);

}  // namespace job_fetcher::store::postgres

namespace job_fetcher::store {

// Returns the whole schema as one SQL script (schema_migrations, every migration, and the rows
// that record them), for `job-fetcher migrate --print` and PostgREST deployments.
std::string postgres_schema_sql();

}  // namespace job_fetcher::store
