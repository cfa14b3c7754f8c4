// The job store seam: postings, per-feed state (watermark and lease), the run ledger and the token
// cache. Implementations: SQLite (embedded default), PostgreSQL over libpq, PostgREST over HTTP.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "upwork/posting.hpp"

namespace job_fetcher::store {

// The newest published_at a feed has stored, and the ids published at exactly that instant.
struct watermark {
  timestamp at{};
  std::vector<std::string> ids;

  friend bool operator==(const watermark&, const watermark&) = default;
};

// Counts of one upsert, per distinct id of the batch.
struct upsert_counts {
  std::int64_t inserted = 0;   // ids not stored before
  std::int64_t updated = 0;    // content_hash changed: row rewritten, revision + 1
  std::int64_t unchanged = 0;  // same content_hash: only last_seen_at touched
};

// A gap in coverage that a run could not close (offset cap, max_pages or deadline).
struct coverage_gap {
  timestamp from{};  // older bound: the previous watermark
  timestamp to{};    // newer bound: the oldest posting the run reached
  std::int64_t estimated_count = 0;

  friend bool operator==(const coverage_gap&, const coverage_gap&) = default;
};

// One row of fetch_runs.
struct run_record {
  std::int64_t id = 0;
  std::string feed;
  timestamp started_at{};
  std::optional<timestamp> finished_at;
  std::string status;  // "running" | "ok" | "failed" | "blocked" | "skipped"
  std::optional<std::string> error_class;
  std::optional<std::string> error;
  std::int64_t api_requests = 0;
  std::int64_t pages = 0;
  std::int64_t postings_seen = 0;
  std::int64_t postings_new = 0;
  std::int64_t postings_updated = 0;
  std::optional<coverage_gap> gap;
};

// One page to write. All of it is applied in one transaction, or none of it.
struct page_write {
  std::string feed;
  std::int64_t run_id = 0;
  std::vector<upwork::posting> postings;  // may hold the same id twice; the last one wins
  std::optional<watermark> new_watermark;  // set when this page completes the coverage
  timestamp seen_at{};                     // first_seen_at / last_seen_at for this page
  // Ledger counters after this page, so the ledger row is right even if the process dies next.
  std::int64_t api_requests = 0;
  std::int64_t pages = 0;
};

// A posting as stored, with the columns the store maintains.
struct stored_posting {
  upwork::posting posting;
  timestamp first_seen_at{};
  timestamp last_seen_at{};
  std::int64_t revision = 1;
  std::vector<std::string> feeds;  // every feed that found it, in the order they first did
};

struct cached_token {
  std::string name;
  secret value;
  std::int64_t expires = 0;  // epoch seconds
  timestamp created_at{};
};

struct schema_versions {
  int current = 0;
  int latest = 0;
};

// A store. The concrete stores serve one thread at a time. open_store() wraps them so that the
// threads of one run (the fetch loop with its token cache, the page writer) can share an
// instance. Concurrent runs use separate instances (or processes) and are kept apart by leases.
class job_store {
 public:
  virtual ~job_store() = default;

  // Creates or upgrades the schema; idempotent.
  virtual result<void> migrate() = 0;

  // Returns the schema version the database contains (0 when it has no job-fetcher schema) and the
  // version this build writes.
  virtual result<schema_versions> schema_version() = 0;

  // Takes the feed's lease until `until` for `owner`. Returns false when another owner holds an
  // unexpired lease. Taking a lease one already holds extends it.
  virtual result<bool> acquire_lease(const std::string& feed, const std::string& owner,
                                     timestamp now, timestamp until) = 0;
  virtual result<void> release_lease(const std::string& feed, const std::string& owner) = 0;

  virtual result<std::optional<watermark>> load_watermark(const std::string& feed) = 0;

  // Inserts a fetch_runs row with status "running" and returns its id. The caller holds the
  // feed's lease, so the feed's other "running" rows were abandoned: they become "failed".
  virtual result<std::int64_t> begin_run(const std::string& feed, timestamp started_at) = 0;

  // Upserts the postings, moves the watermark when given, and updates the ledger counters of the
  // run, in one transaction. Counts are per distinct id.
  virtual result<upsert_counts> write_page(const page_write& page) = 0;

  // Writes the final state of a run's ledger row.
  virtual result<void> finish_run(const run_record& run) = 0;

  // Returns the newest runs, newest first, optionally for one feed.
  virtual result<std::vector<run_record>> recent_runs(const std::optional<std::string>& feed,
                                                      int limit) = 0;

  // Returns the newest published_at stored, or nothing for an empty store.
  virtual result<std::optional<timestamp>> newest_published_at() = 0;

  // Token cache (token_tracker): the newest row for `name` whose expiry is after `now`.
  virtual result<std::optional<cached_token>> read_token(const std::string& name,
                                                         timestamp now) = 0;
  virtual result<void> write_token(const cached_token& token) = 0;

  // Returns stored postings, newest published first (for show, tests and exports): all of them,
  // or those `feed` found.
  virtual result<std::vector<stored_posting>> read_postings(
      int limit, const std::optional<std::string>& feed) = 0;
  result<std::vector<stored_posting>> read_postings(int limit) {
    return read_postings(limit, std::nullopt);
  }

  // Releases `feed`'s postings whose last_seen_at is before `older_than`: the feed leaves each
  // one's feeds, and a posting that no feed lists any more is deleted. A posting that another
  // feed still lists stays. Returns how many postings the feed released (deleted or not).
  virtual result<std::int64_t> prune(const std::string& feed, timestamp older_than) = 0;
};

// Store location. PostgREST is used when `postgrest_url` is set and `url` is empty.
struct store_settings {
  std::string url = "sqlite:./job-fetcher.db";  // "sqlite:PATH" or "postgres://…"
  std::string postgrest_url;                    // "https://project.supabase.co/rest/v1"
  secret postgrest_key;                         // sent as apikey and Authorization: Bearer
  int postgrest_batch_rows = 500;               // rows per POST
  int postgrest_parallelism = 4;                // concurrent POSTs of one page
  // For commands that only read (status, show): a missing SQLite file is a config error, and the
  // schema is checked, never created or upgraded.
  bool read_only = false;
};

// Opens the configured store. An invalid URL is a config error naming the value and the valid
// forms; an unreachable database is a store error.
result<std::unique_ptr<job_store>> open_store(const store_settings& settings);

}  // namespace job_fetcher::store
