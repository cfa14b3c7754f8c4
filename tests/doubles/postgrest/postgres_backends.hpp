// The PostgreSQL and PostgREST entries of the store contract suite (tests/store/store_backends).
#pragma once

#include "store/store_backends.hpp"

namespace job_fetcher::testing {

// libpq store on a fresh schema of the test database per store.
store::testing::store_backend postgres_backend();

// PostgREST store in front of a PostgREST double over a fresh schema of the test database; small
// batches and several workers, so every page is split into parallel batches.
store::testing::store_backend postgrest_backend();

}  // namespace job_fetcher::testing
