// Wires the pieces of a run together from settings: store, HTTP client, bearer token provider,
// search protocol and rate limiter. The CLI, the daemon and the Lambda handler share it, and it
// creates the expensive clients once and reuses them across runs.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "auth/authenticator.hpp"
#include "core/clock.hpp"
#include "http/client.hpp"
#include "run/fetch_run.hpp"
#include "run/page_source.hpp"
#include "run/settings.hpp"
#include "store/store.hpp"

namespace job_fetcher::run {

// Per-run changes to the configured feed (from a Lambda event or the daemon).
struct run_overrides {
  std::optional<int> max_pages;
  std::optional<int> backfill;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::function<bool()> stop_requested;
  std::function<void(std::int64_t pages, std::int64_t postings_new)> on_page;
};

class app {
 public:
  // Validates the settings; throws config_error before any network call.
  explicit app(settings values, clock_source& clock = system_clock_source());
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  const settings& config() const { return settings_; }

  // Opens the store on first use and keeps it; a store error is returned, not thrown.
  result<store::job_store*> store();

  // Runs the configured feed once.
  run_summary run_feed(const run_overrides& overrides = {});

  // Releases the feed's postings not seen within its retention (store::job_store::prune) and
  // returns how many. Without a retention it does nothing and returns 0. run_feed() calls it
  // after every run.
  result<std::int64_t> prune();

 private:
  struct parts;
  settings settings_;
  clock_source& clock_;
  std::unique_ptr<parts> parts_;
};

// Builds the search protocol of the configured source.
std::unique_ptr<search_protocol> make_search_protocol(const settings& values);

// The token minting built into job-fetcher: the visitor home-page cookie, or OAuth2 for the
// marketplace source.
std::unique_ptr<auth::authenticator> make_builtin_minter(const settings& values,
                                                        http::client& client,
                                                        store::job_store& store,
                                                        clock_source& clock);

// The bearer token provider for the configured source and authenticators.
std::unique_ptr<bearer_token_provider> make_token_provider(const settings& values,
                                                           http::client& client,
                                                           store::job_store& store,
                                                           clock_source& clock);

}  // namespace job_fetcher::run
