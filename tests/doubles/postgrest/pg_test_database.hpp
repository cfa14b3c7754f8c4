// The test PostgreSQL database: its URL from the environment, and a fresh schema per test so tests
// that share one database never see each other's rows.
#pragma once

#include <string>

namespace job_fetcher::testing {

// The environment variable with the test database URL, written by scripts/pg-cluster.sh.
inline constexpr const char* test_postgres_url_variable = "JOB_FETCHER_TEST_PG_URL";

// Returns the value of JOB_FETCHER_TEST_PG_URL, or an empty string when it is not set.
std::string test_postgres_url();

// Returns the reason PostgreSQL tests cannot run here, or an empty string when they can.
std::string postgres_unavailable_reason();

// Creates an empty schema in the test database and returns a connection URL whose search_path is
// that schema. The schema is dropped when the test program exits. Throws std::runtime_error when
// the database cannot be reached.
std::string fresh_postgres_schema();

// Returns `url` with the libpq option that sets search_path to `schema`.
std::string with_search_path(const std::string& url, const std::string& schema);

}  // namespace job_fetcher::testing
