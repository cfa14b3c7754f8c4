// The PostgREST store: the same schema as the PostgreSQL store, reached over HTTP
// (Supabase-style REST). Every operation calls a SQL function of that schema with
// POST /rpc/<function>, so both stores share one implementation of upsert, lease, ledger and
// token cache.
//
// Why postings go through POST /rpc/upsert_postings and not POST /upwork_jobs?on_conflict=id:
// with Prefer: resolution=merge-duplicates PostgREST sets every column to the posted value, so
// first_seen_at, revision and feeds would be overwritten, an unchanged posting would be rewritten,
// and return=minimal gives no inserted/updated/unchanged counts. The function keeps those rules
// and runs each batch in one transaction.
//
// write_page() is not one transaction here: each batch of at most postgrest_batch_rows postings
// commits on its own (up to postgrest_parallelism at once), and the watermark and ledger move in a
// last call only after every batch succeeded. A failed page therefore leaves some postings
// stored and the watermark where it was, so the next run repeats the page; the upsert is
// idempotent, so nothing is duplicated.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "core/error.hpp"
#include "http/client.hpp"
#include "store/store.hpp"

namespace job_fetcher::store {

// Test seams and retry limits of the PostgREST store.
struct postgrest_options {
  // Creates one HTTP client per worker thread; empty means http::make_curl_client().
  std::function<std::unique_ptr<http::client>()> make_client;
  // Waits between attempts; empty means the system clock's sleep.
  std::function<void(std::chrono::milliseconds)> sleep;
  int max_attempts = 3;                          // per request, first attempt included
  std::chrono::milliseconds first_backoff{200};  // doubled after each failed attempt
  std::chrono::milliseconds timeout{30'000};     // per request
};

// Builds a PostgREST store with explicit options. A missing URL or key is a config error.
result<std::unique_ptr<job_store>> make_postgrest_store(const store_settings& settings,
                                                        postgrest_options options);

}  // namespace job_fetcher::store
