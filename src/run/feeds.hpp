// Named feeds: a TOML file (JOB_FETCHER_FEEDS or --config FILE) where each [feeds.NAME] table
// is one feed with its own source, search, limits, retention and schedule. Without a file, the
// environment describes one feed, named by JOB_FETCHER_FEED ("default").
//
// File format (one table per feed; the table name is the feed name):
//
//   [feeds.python]
//   source = "visitor"            # visitor | marketplace; default: UPWORK_SOURCE
//   query = "python"              # at most 500 characters; empty: every posting
//   job_type = "hourly"           # hourly | fixed
//   contractor_tier = ["ExpertLevel"]   # string "A,B" or array; marketplace: one tier
//   workload = "full_time"        # visitor only, like duration and client_hires
//   hourly_rate = "30-"           # visitor only, needs job_type = "hourly"
//   budget = "500-5000"           # visitor only, needs job_type = "fixed"
//   location = "Germany"          # marketplace: a string or an array of places
//   page_size = 50                # 1 to 50
//   backfill = 500                # postings the first run stores, 0 to 5000
//   max_pages = 100               # 1 to 1000
//   retention = "24h"             # prune deletes the feed's postings unseen this long
//   schedule = "5m"               # daemon period of this feed; default: daemon --every
//
// Settings not listed (store, credentials, endpoints, pacing) come from the environment and
// flags and are shared by every feed. Each feed keys its own watermark, lease and ledger rows.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "run/settings.hpp"

namespace job_fetcher::run {

class app;

// One named feed.
struct feed_definition {
  std::string name;
  // The settings its runs use: the shared settings with this feed's values applied.
  settings values;
  // "FILE:LINE" of its table, or "environment" when no file is configured.
  std::string origin;
  // Daemon period; nothing: the daemon's --every.
  std::optional<std::chrono::milliseconds> schedule;
  // Empty when the feed is valid. Each entry names FILE:LINE, the value and the fix.
  std::vector<std::string> problems;
};

// The feeds of a file, or the one environment feed, with every problem found.
struct feed_list {
  std::string file;  // empty when the environment describes the only feed
  std::vector<feed_definition> feeds;  // in file order
  // Problems of the file as a whole: unreadable, invalid TOML, duplicate or invalid feed names,
  // unknown top-level keys.
  std::vector<std::string> problems;

  // True when neither the file nor any feed has a problem.
  bool valid() const;
  // Every problem, file-level first, one a line.
  std::string describe_problems() const;
};

// Reads the feeds of `shared.feeds_file`, or describes the environment feed when it is empty.
// Never throws: problems are collected so `job-fetcher feeds` can list them all.
//
// When a file holds feeds of both sources, marketplace feeds cache their tokens under
// "<UPWORK_TOKEN_NAME>.marketplace", so visitor and OAuth2 tokens never replace each other.
feed_list read_feeds(const settings& shared);

// Reads the feeds and throws config_error listing every problem when any is found.
std::vector<feed_definition> load_feeds(const settings& shared);

// Returns the feed named `name`. When no feed has that name and `name` is "default" (no feed was
// chosen) and there is exactly one feed, returns that one. Throws config_error naming the known
// feeds otherwise.
const feed_definition& select_feed(const std::vector<feed_definition>& feeds,
                                   const std::string& name);

// One app per feed, created on first use and kept, so a feed's store connection and HTTP
// clients are reused across runs (daemon, Lambda).
class feed_apps {
 public:
  explicit feed_apps(std::vector<feed_definition> feeds,
                     clock_source& clock = system_clock_source());
  ~feed_apps();
  feed_apps(const feed_apps&) = delete;
  feed_apps& operator=(const feed_apps&) = delete;

  // Returns the app of the feed select_feed() picks for `name`; throws config_error.
  app& get(const std::string& name);

  const std::vector<feed_definition>& feeds() const { return feeds_; }

 private:
  std::vector<feed_definition> feeds_;
  clock_source& clock_;
  std::map<std::string, std::unique_ptr<app>> apps_;
};

}  // namespace job_fetcher::run
