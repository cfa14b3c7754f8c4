// One run of one feed: lease, page newest-first until the previous watermark (minus skew) is
// reached, upsert each page while the next one is fetched, move the watermark only over
// contiguous coverage, record the run in the ledger.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "run/page_source.hpp"
#include "store/store.hpp"

namespace job_fetcher::run {

struct run_options {
  std::string feed = "default";
  std::string owner;  // lease owner id, unique per process and run
  int page_size = 50;
  int max_pages = 100;
  int backfill = 500;  // postings stored by the first run of a feed
  std::chrono::milliseconds skew{std::chrono::minutes{2}};
  std::chrono::milliseconds lease{std::chrono::minutes{15}};
  std::chrono::milliseconds safety_margin{std::chrono::seconds{5}};
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool cursor_paging = false;  // marketplace: follow endCursor instead of offsets
  std::int64_t offset_cap = 5000;
  // Called after each stored page (for progress output); may be empty.
  std::function<void(std::int64_t pages, std::int64_t postings_new)> on_page;
  // Checked before each page; returning true stops paging as if the deadline had come (SIGTERM).
  std::function<bool()> stop_requested;
};

// The outcome of a run. Exit codes of `job-fetcher run` follow it (see status_exit_code).
enum class run_status { ok, partial, skipped, failed, blocked };

std::string_view to_string(run_status status) noexcept;
int status_exit_code(run_status status) noexcept;

struct run_summary {
  run_status status = run_status::ok;
  std::string feed;
  std::int64_t run_id = 0;
  std::int64_t pages = 0;
  std::int64_t api_requests = 0;
  std::int64_t postings_seen = 0;
  std::int64_t postings_new = 0;
  std::int64_t postings_updated = 0;
  std::optional<store::coverage_gap> gap;
  std::string stop_reason;  // "watermark", "backfill", "max_pages", "deadline", "offset_cap", …
  std::optional<error> failure;
  std::chrono::milliseconds duration{0};

  // {"status", "feed", "pages", "api_requests", "postings_seen", "postings_new",
  //  "postings_updated", "gap", "duration_ms", …}; never contains a token.
  nlohmann::json to_json() const;
  std::string to_text() const;
};

// Runs one feed to completion. Never throws for expected failures: they end up in the summary and
// in the ledger row.
run_summary execute_run(store::job_store& store, page_source& source, clock_source& clock,
                        const run_options& options);

}  // namespace job_fetcher::run
