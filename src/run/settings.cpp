#include "run/settings.hpp"

#include <charconv>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"

namespace job_fetcher::run {

namespace {

using apply_fn = std::function<std::optional<std::string>(settings&, std::string_view)>;

std::optional<long long> parse_integer(std::string_view text, long long min, long long max) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

// Each make_* returns the parser of one setting type, writing through `target`.
apply_fn make_text(std::function<std::string&(settings&)> target) {
  return [target](settings& s, std::string_view text) -> std::optional<std::string> {
    target(s) = std::string(text);
    return std::nullopt;
  };
}

apply_fn make_secret(std::function<secret&(settings&)> target) {
  return [target](settings& s, std::string_view text) -> std::optional<std::string> {
    target(s) = secret(std::string(text));
    return std::nullopt;
  };
}

apply_fn make_url(std::function<std::string&(settings&)> target) {
  return [target](settings& s, std::string_view text) -> std::optional<std::string> {
    if (!text.empty() && !text.starts_with("http://") && !text.starts_with("https://")) {
      return "expected an http:// or https:// URL";
    }
    target(s) = std::string(text);
    return std::nullopt;
  };
}

template <class Integer>
apply_fn make_integer(std::function<Integer&(settings&)> target, long long min, long long max) {
  return [target, min, max](settings& s, std::string_view text) -> std::optional<std::string> {
    auto value = parse_integer(text, min, max);
    if (!value) return fmt::format("expected a whole number from {} to {}", min, max);
    target(s) = static_cast<Integer>(*value);
    return std::nullopt;
  };
}

apply_fn make_duration(std::function<std::chrono::milliseconds&(settings&)> target) {
  return [target](settings& s, std::string_view text) -> std::optional<std::string> {
    auto value = parse_duration(text);
    if (!value) {
      return "expected a duration with a unit, such as 500ms, 30s, 2m, 1h or 1d, of at most 3660d";
    }
    target(s) = *value;
    return std::nullopt;
  };
}

apply_fn make_choice(std::function<std::string&(settings&)> target,
                     std::vector<std::string> choices) {
  return [target, choices](settings& s, std::string_view text) -> std::optional<std::string> {
    for (const auto& choice : choices) {
      if (choice == text) {
        target(s) = std::string(text);
        return std::nullopt;
      }
    }
    return fmt::format("expected one of: {}", fmt::join(choices, ", "));
  };
}

apply_fn make_rate() {
  return [](settings& s, std::string_view text) -> std::optional<std::string> {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || !(value > 0) || value > 1000) {
      return "expected requests per second, a number above 0 and at most 1000 (such as 0.5)";
    }
    s.rate_per_second = value;
    return std::nullopt;
  };
}

#define JF_FIELD(expr) [](settings& s) -> auto& { return s.expr; }

std::vector<setting_spec> build_specs() {
  std::vector<setting_spec> specs;
  auto add = [&](std::string env, std::string flag, std::string type, std::string def,
                 std::string description, apply_fn apply) {
    specs.push_back({std::move(env), std::move(flag), std::move(type), std::move(def),
                     std::move(description), std::move(apply)});
  };
  const settings d;

  // Store.
  add("JOB_FETCHER_STORE", "store", "url", d.store.url,
      "where postings are stored: sqlite:PATH or postgres://USER@HOST:PORT/DB",
      make_text(JF_FIELD(store.url)));
  add("POSTGREST_URL", "postgrest-url", "url", "",
      "PostgREST base URL (Supabase: https://PROJECT.supabase.co/rest/v1), used when "
      "JOB_FETCHER_STORE is unset",
      make_url(JF_FIELD(store.postgrest_url)));
  add("SUPABASE_CLIENT_ANON_KEY", "", "secret", "", "PostgREST key, sent as apikey and bearer token",
      make_secret(JF_FIELD(store.postgrest_key)));
  add("POSTGREST_TOKEN", "", "secret", "", "PostgREST JWT; wins over SUPABASE_CLIENT_ANON_KEY",
      [](settings& s, std::string_view text) -> std::optional<std::string> {
        if (!text.empty()) s.store.postgrest_key = secret(std::string(text));
        return std::nullopt;
      });
  add("JOB_FETCHER_POSTGREST_BATCH_ROWS", "", "integer", "500", "rows per PostgREST upsert request",
      make_integer<int>(JF_FIELD(store.postgrest_batch_rows), 1, 10000));
  add("JOB_FETCHER_POSTGREST_PARALLELISM", "", "integer", "4",
      "concurrent PostgREST upsert requests per page",
      make_integer<int>(JF_FIELD(store.postgrest_parallelism), 1, 32));

  // Feed and search.
  add("JOB_FETCHER_FEED", "feed", "text", d.feed, "feed name: keys the watermark, lease and ledger",
      make_text(JF_FIELD(feed)));
  add("JOB_FETCHER_FEEDS", "config", "text", "", "TOML file of named feeds",
      make_text(JF_FIELD(feeds_file)));
  add("UPWORK_SOURCE", "source", "visitor|marketplace", d.source,
      "visitor: public search with a visitor token; marketplace: official API with OAuth2",
      make_choice(JF_FIELD(source), {"visitor", "marketplace"}));
  add("JOB_FETCHER_QUERY", "query", "text", "", "search words (at most 500 characters); empty: all",
      make_text(JF_FIELD(query)));
  add("JOB_FETCHER_JOB_TYPE", "job-type", "|hourly|fixed", "", "only hourly or only fixed-price jobs",
      make_choice(JF_FIELD(job_type), {"", "hourly", "fixed"}));
  add("JOB_FETCHER_CONTRACTOR_TIER", "contractor-tier", "text", "",
      "comma-separated tiers: EntryLevel, IntermediateLevel, ExpertLevel",
      make_text(JF_FIELD(contractor_tier)));
  add("JOB_FETCHER_WORKLOAD", "workload", "text", "", "workload filter as Upwork spells it",
      make_text(JF_FIELD(workload)));
  add("JOB_FETCHER_DURATION", "duration", "text", "", "engagement duration filter (durationV3)",
      make_text(JF_FIELD(duration)));
  add("JOB_FETCHER_CLIENT_HIRES", "client-hires", "text", "", "client hire-count filter",
      make_text(JF_FIELD(client_hires)));
  add("JOB_FETCHER_HOURLY_RATE", "hourly-rate", "text", "",
      "hourly rate range MIN-MAX in USD; needs job type hourly", make_text(JF_FIELD(hourly_rate)));
  add("JOB_FETCHER_BUDGET", "budget", "text", "",
      "fixed budget range MIN-MAX in USD; needs job type fixed", make_text(JF_FIELD(budget)));
  add("JOB_FETCHER_LOCATION", "location", "text", "", "client country, full name (\"Germany\")",
      make_text(JF_FIELD(location)));
  add("JOB_FETCHER_PAGE_SIZE", "page-size", "integer", "50", "postings per request (1 to 50)",
      make_integer<int>(JF_FIELD(page_size), -1'000'000, 1'000'000));
  add("JOB_FETCHER_MAX_PAGES", "max-pages", "integer", "100", "search requests per run at most",
      make_integer<int>(JF_FIELD(max_pages), 1, 1000));
  add("JOB_FETCHER_BACKFILL", "backfill", "integer", "500",
      "postings the first run of a feed stores (at most 5000). 0 stores none and starts the feed "
      "at the newest posting",
      make_integer<int>(JF_FIELD(backfill), 0, 5000));
  add("JOB_FETCHER_SKEW", "skew", "duration", "2m",
      "how far below the watermark a run reads, for late or out-of-order publishing",
      make_duration(JF_FIELD(skew)));

  add("JOB_FETCHER_RETENTION", "retention", "duration", "off",
      "prune deletes the feed's postings not seen for this long (such as 24h); off keeps them",
      [](settings& s, std::string_view text) -> std::optional<std::string> {
        if (text.empty() || text == "off") {
          s.retention = std::chrono::milliseconds{0};
          return std::nullopt;
        }
        auto value = parse_duration(text);
        if (!value || value->count() <= 0) {
          return "expected off or a duration above zero with a unit, such as 24h or 7d";
        }
        s.retention = *value;
        return std::nullopt;
      });

  // Upwork endpoints and credentials.
  add("UPWORK_VISITOR_URL", "", "url", d.visitor_url, "visitor GraphQL search endpoint",
      make_url(JF_FIELD(visitor_url)));
  add("UPWORK_HOME_URL", "", "url", d.home_url, "page that sets the visitor_gql_token cookie",
      make_url(JF_FIELD(home_url)));
  add("UPWORK_MARKETPLACE_URL", "", "url", d.marketplace_url, "official GraphQL API endpoint",
      make_url(JF_FIELD(marketplace_url)));
  add("UPWORK_TOKEN_URL", "", "url", d.token_url, "OAuth2 token endpoint",
      make_url(JF_FIELD(token_url)));
  add("UPWORK_TOKEN", "", "secret", "", "static bearer token; skips the cache and authenticator",
      make_secret(JF_FIELD(upwork_token)));
  add("UPWORK_TOKEN_NAME", "", "text", d.token_name, "token_tracker row name of the cached token",
      make_text(JF_FIELD(token_name)));
  add("UPWORK_CLIENT_ID", "", "text", "", "OAuth2 client id (marketplace)",
      make_text(JF_FIELD(client_id)));
  add("UPWORK_CLIENT_SECRET", "", "secret", "", "OAuth2 client secret (marketplace)",
      make_secret(JF_FIELD(client_secret)));
  add("UPWORK_REFRESH_TOKEN", "", "secret", "",
      "initial OAuth2 refresh token; rotated tokens are kept in the token cache",
      make_secret(JF_FIELD(refresh_token)));
  add("UPWORK_TENANT_ID", "", "text", "", "X-Upwork-API-TenantId header (marketplace)",
      make_text(JF_FIELD(tenant_id)));
  add("AUTHORIZER_URL", "", "url", "", "HTTP authenticator: POST {\"secret\"} returns {\"token\"}",
      make_url(JF_FIELD(authorizer_url)));
  add("AUTH_SECRET", "", "secret", "", "shared secret of the authenticator",
      make_secret(JF_FIELD(auth_secret)));
  add("AUTHENTICATOR_FUNCTION", "", "text", "", "authenticator Lambda function name or ARN",
      make_text(JF_FIELD(authenticator_function)));
  add("AUTHENTICATOR_QUALIFIER", "", "text", "", "authenticator Lambda alias or version",
      make_text(JF_FIELD(authenticator_qualifier)));
  add("AWS_LAMBDA_ENDPOINT", "", "url", "", "Lambda API endpoint; empty: the regional endpoint",
      make_url(JF_FIELD(lambda_endpoint)));

  // Limits and pacing.
  add("JOB_FETCHER_DEADLINE", "deadline", "duration", "5m",
      "a run stops paging when this much time has passed (Lambda: the invocation deadline)",
      make_duration(JF_FIELD(deadline)));
  add("JOB_FETCHER_SAFETY_MARGIN", "", "duration", "5s",
      "time kept before the deadline to commit and report", make_duration(JF_FIELD(safety_margin)));
  add("JOB_FETCHER_REQUEST_TIMEOUT", "", "duration", "30s", "one HTTP request at most",
      make_duration(JF_FIELD(request_timeout)));
  add("JOB_FETCHER_LEASE", "", "duration", "15m",
      "how long a run keeps its feed. Keep it longer than JOB_FETCHER_DEADLINE, because a run "
      "does not renew it. An abandoned lease expires after this",
      make_duration(JF_FIELD(lease)));
  add("JOB_FETCHER_MAX_ATTEMPTS", "", "integer", "4", "attempts per request, the first included",
      make_integer<int>(JF_FIELD(max_attempts), 1, 20));
  add("JOB_FETCHER_BACKOFF_BASE", "", "duration", "500ms", "first retry waits up to this",
      make_duration(JF_FIELD(backoff_base)));
  add("JOB_FETCHER_BACKOFF_MAX", "", "duration", "30s", "a retry waits at most this",
      make_duration(JF_FIELD(backoff_max)));
  add("JOB_FETCHER_RATE", "", "number", "1", "sustained Upwork requests per second", make_rate());
  add("JOB_FETCHER_RATE_BURST", "", "integer", "5", "requests allowed at once before pacing",
      make_integer<int>(JF_FIELD(rate_burst), 1, 100));
  add("JOB_FETCHER_REQUEST_BUDGET", "", "integer", "400", "Upwork requests per run at most",
      make_integer<int>(JF_FIELD(request_budget), 1, 100000));
  add("JOB_FETCHER_MAX_RESPONSE_BYTES", "", "integer", "16777216",
      "largest response body accepted, in bytes",
      make_integer<std::size_t>(JF_FIELD(max_response_bytes), 1024, 1LL << 32));
  add("JOB_FETCHER_MAX_DESCRIPTION_BYTES", "", "integer", "65536",
      "longer descriptions are truncated with a marker, in bytes",
      make_integer<std::size_t>(JF_FIELD(max_description_bytes), 1024, 16LL << 20));

  // Proxies.
  add("HTTPS_PROXY", "", "url", "", "one proxy for every Upwork request",
      make_text(JF_FIELD(https_proxy)));
  add("PROXY_URL", "", "url", "", "URL of a proxy list, one ip:port:user:password a line",
      make_url(JF_FIELD(proxy_url)));
  add("JOB_FETCHER_PROXY_FILE", "", "text", "", "file with a proxy list, one ip:port:user:password a line",
      make_text(JF_FIELD(proxy_file)));

  // Output.
  add("JOB_FETCHER_LOG_LEVEL", "log-level", "debug|info|warn|error|off", d.log_level,
      "lowest level logged", make_choice(JF_FIELD(log_level), {"debug", "info", "warn", "error", "off"}));
  add("JOB_FETCHER_LOG_FORMAT", "log-format", "text|json", d.log_format,
      "log line format; json is one object a line", make_choice(JF_FIELD(log_format), {"text", "json"}));
  add("JOB_FETCHER_CA_BUNDLE", "", "text", "", "CA certificates file; empty: found at start-up",
      make_text(JF_FIELD(ca_bundle)));
  return specs;
}

#undef JF_FIELD

}  // namespace

const std::vector<setting_spec>& setting_specs() {
  static const std::vector<setting_spec> specs = build_specs();
  return specs;
}

settings load_settings(const std::function<std::optional<std::string>(const std::string&)>& getenv,
                       const std::map<std::string, std::string>& flags) {
  settings values;
  auto apply = [&](const setting_spec& spec, const std::string& text, std::string_view origin) {
    auto problem = spec.apply(values, text);
    if (!problem) return;
    std::string shown = spec.type == "secret" ? "***" : fmt::format("\"{}\"", text);
    throw config_error(fmt::format("invalid {} {}: {}; {}", origin, shown, *problem,
                                   spec.description));
  };
  for (const auto& spec : setting_specs()) {
    if (auto text = getenv(spec.env)) apply(spec, *text, spec.env);
  }
  for (const auto& [flag, text] : flags) {
    bool known = false;
    for (const auto& spec : setting_specs()) {
      if (spec.flag == flag) {
        apply(spec, text, "--" + flag);
        known = true;
      }
    }
    if (!known) throw config_error(fmt::format("unknown flag --{}", flag));
  }
  values.feed_named = getenv("JOB_FETCHER_FEED").has_value() || flags.contains("feed");
  // PostgREST is the store when it is configured and no store URL was given explicitly.
  bool store_given = getenv("JOB_FETCHER_STORE").has_value() || flags.contains("store");
  if (!values.store.postgrest_url.empty() && !store_given) values.store.url.clear();
  return values;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  auto count = parse_integer(text.substr(0, digits), 0, 999'999'999'999);
  if (!count) return std::nullopt;
  std::string_view unit = text.substr(digits);
  using namespace std::chrono;
  std::optional<milliseconds> value;
  if (unit == "ms") value = milliseconds{*count};
  if (unit == "s") value = duration_cast<milliseconds>(seconds{*count});
  if (unit == "m") value = duration_cast<milliseconds>(minutes{*count});
  if (unit == "h") value = duration_cast<milliseconds>(hours{*count});
  if (unit == "d") value = duration_cast<milliseconds>(hours{*count * 24});
  // Longer durations would overflow when added to a time point; no setting needs them.
  constexpr auto longest = duration_cast<milliseconds>(hours{24 * 3660});
  if (!value || *value > longest) return std::nullopt;
  return value;
}

std::string format_duration(std::chrono::milliseconds value) {
  auto ms = value.count();
  if (ms != 0 && ms % 86'400'000 == 0) return fmt::format("{}d", ms / 86'400'000);
  if (ms != 0 && ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms != 0 && ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms != 0 && ms % 1'000 == 0) return fmt::format("{}s", ms / 1'000);
  return fmt::format("{}ms", ms);
}

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace job_fetcher::run
