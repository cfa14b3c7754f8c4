// Every setting of job-fetcher, declared once: environment name, flag, type, default, unit and a
// one-line description. The table drives `--help`, validation, `job-fetcher settings` and the
// README's settings list.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/secret.hpp"
#include "store/store.hpp"

namespace job_fetcher::run {

// The values of all settings after defaults, environment and flags were applied.
struct settings {
  store::store_settings store;

  std::string feed = "default";
  bool feed_named = false;  // JOB_FETCHER_FEED or --feed set `feed`, so reports show only it
  std::string source = "visitor";  // "visitor" | "marketplace"
  std::string feeds_file;

  std::string visitor_url = "https://www.upwork.com/api/graphql/v1?alias=visitorJobSearch";
  std::string home_url = "https://www.upwork.com/";
  std::string marketplace_url = "https://api.upwork.com/graphql";
  std::string token_url = "https://www.upwork.com/api/v3/oauth2/token";

  secret upwork_token;
  std::string token_name = "UniversalSearch";
  std::string client_id;
  secret client_secret;
  secret refresh_token;
  std::string tenant_id;
  std::string authorizer_url;
  secret auth_secret;
  std::string authenticator_function;
  std::string authenticator_qualifier;
  std::string lambda_endpoint;

  std::string query;
  std::string job_type;         // "hourly" | "fixed"
  std::string contractor_tier;  // comma-separated EntryLevel,IntermediateLevel,ExpertLevel
  std::string workload;
  std::string duration;
  std::string client_hires;
  std::string hourly_rate;  // "MIN-MAX"
  std::string budget;       // "MIN-MAX"
  std::string location;

  int page_size = 50;
  int max_pages = 100;
  int backfill = 500;
  std::chrono::milliseconds skew{std::chrono::minutes{2}};
  // How long a posting of this feed is kept after it was last seen; zero keeps postings forever.
  std::chrono::milliseconds retention{0};
  std::chrono::milliseconds deadline{std::chrono::minutes{5}};
  std::chrono::milliseconds safety_margin{std::chrono::seconds{5}};
  std::chrono::milliseconds request_timeout{std::chrono::seconds{30}};
  std::chrono::milliseconds lease{std::chrono::minutes{15}};
  int max_attempts = 4;
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_max{std::chrono::seconds{30}};
  double rate_per_second = 1.0;
  int rate_burst = 5;
  int request_budget = 400;
  std::size_t max_response_bytes = 16 * 1024 * 1024;
  std::size_t max_description_bytes = 64 * 1024;

  std::string https_proxy;
  std::string proxy_url;
  std::string proxy_file;

  std::string log_level = "info";
  std::string log_format = "text";
  std::string ca_bundle;
};

// One setting. `apply` parses text into the settings and returns an error message naming the
// valid values when the text is invalid.
struct setting_spec {
  std::string env;          // environment variable, e.g. "JOB_FETCHER_STORE"
  std::string flag;         // command-line flag without dashes, or empty
  std::string type;         // "text" | "integer" | "duration" | "url" | "secret" | a|b|c choices
  std::string default_text; // as shown in --help
  std::string description;  // one line, with the unit
  std::function<std::optional<std::string>(settings&, std::string_view)> apply;
};

// The table of every setting.
const std::vector<setting_spec>& setting_specs();

// Builds settings from defaults, then the environment, then `flags` (flag name → value).
// Throws config_error naming the setting, the value (masked for secrets) and the valid values.
settings load_settings(const std::function<std::optional<std::string>(const std::string&)>& getenv,
                       const std::map<std::string, std::string>& flags);

// Checks combinations (filters that need a job type, page size, query length, store path).
// Throws config_error.
void validate(const settings& values);

// Parses "500ms", "30s", "2m", "1h", "1d"; a plain number is rejected so the unit is never guessed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// Formats a duration with the largest exact unit ("2m", "500ms").
std::string format_duration(std::chrono::milliseconds value);

// Reads the process environment.
std::optional<std::string> process_env(const std::string& name);

}  // namespace job_fetcher::run
