// The commands of the job-fetcher binary, kept in the library so tests call them directly.
// Each returns the process exit code.
#pragma once

#include <string>

#include "run/settings.hpp"

namespace job_fetcher::run {

struct command_options {
  bool json = false;
  bool print_sql = false;
  bool names_only = false;
  bool markdown = false;
  int limit = 20;
  std::string every;
  bool show = false;
  bool all_feeds = false;  // run every configured feed in turn
};

void configure_logging(const settings& values);

// Runs the chosen feed (--feed, JOB_FETCHER_FEED, or the only one) or, with `all_feeds`, every
// feed in file order. Prints one summary per feed (with --json one object per line) and returns
// the exit code of the worst status: failed, blocked, partial, skipped, ok.
int run_command(const settings& values, const command_options& options);
int daemon_command(const settings& values, const command_options& options);
int migrate_command(const settings& values, const command_options& options);
int status_command(const settings& values, const command_options& options);
int show_command(const settings& values, const command_options& options);
int print_settings(const command_options& options);

// Lists the configured feeds with their validation result; returns 2 when any is invalid.
int feeds_command(const settings& values, const command_options& options);

// Releases the postings of every feed with a retention (or only of the feed --feed names) that
// were not seen within that retention.
int prune_command(const settings& values, const command_options& options);

// Prints the bearer token the chain returns (masked unless `show`); `refresh` mints a new one.
int token_command(const settings& values, bool refresh, bool show);

// Runs the Authenticator once on `request_body` ({"secret": …}) and prints its response.
int authenticate_command(const settings& values, const std::string& request_body);

// The Lambda custom runtime entry point (AWS_LAMBDA_RUNTIME_API is set).
int lambda_main();

}  // namespace job_fetcher::run
