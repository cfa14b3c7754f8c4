#include "run/app.hpp"

#include <unistd.h>

#include <atomic>
#include <random>

#include <fmt/format.h>

#include "core/log.hpp"
#include "http/proxy_pool.hpp"

namespace job_fetcher::run {

struct app::parts {
  std::unique_ptr<store::job_store> store;
  std::unique_ptr<http::client> http;
  std::unique_ptr<http::proxy_pool> proxies;
  std::unique_ptr<http::client> token_http;  // http, with the proxies for Upwork's token URLs
  std::unique_ptr<search_protocol> protocol;
  std::unique_ptr<bearer_token_provider> tokens;
  std::unique_ptr<rate_limiter> limiter;
};

namespace {

// A lease owner id that differs between processes and between runs of one process.
std::string make_owner_id() {
  static std::atomic<int> counter{0};
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return fmt::format("{}:{}:{}", host, getpid(), ++counter);
}

}  // namespace

app::app(settings values, clock_source& clock)
    : settings_(std::move(values)), clock_(clock), parts_(std::make_unique<parts>()) {
  validate(settings_);
  parts_->protocol = make_search_protocol(settings_);
}

app::~app() = default;

namespace {

// For commands that only read: the database must hold this build's schema, which they neither
// create nor upgrade, so that a mistyped store URL changes no other application's database.
result<void> check_schema(store::job_store& db) {
  auto versions = db.schema_version();
  if (!versions) return std::move(versions).err();
  if (versions->current == 0) {
    return make_error(error_class::config,
                      "the store holds no job-fetcher schema; check the store URL "
                      "(JOB_FETCHER_STORE or --store), or create the schema with job-fetcher "
                      "migrate");
  }
  if (versions->current != versions->latest) {
    return make_error(error_class::config,
                      fmt::format("the store's schema is version {} and this build reads version "
                                  "{}; run job-fetcher migrate with the newer of the two builds",
                                  versions->current, versions->latest));
  }
  return {};
}

}  // namespace

result<store::job_store*> app::store() {
  if (!parts_->store) {
    auto opened = store::open_store(settings_.store);
    if (!opened) return std::move(opened).err();
    auto ready = settings_.store.read_only ? check_schema(**opened) : (*opened)->migrate();
    if (!ready) return std::move(ready).err();
    parts_->store = std::move(opened).value();
  }
  return parts_->store.get();
}

run_summary app::run_feed(const run_overrides& overrides) {
  log::set_context("feed", settings_.feed);
  auto opened = store();
  if (!opened) {
    run_summary failed;
    failed.feed = settings_.feed;
    failed.status = run_status::failed;
    failed.failure = opened.err();
    return failed;
  }
  store::job_store& db = **opened;

  if (!parts_->http) {
    http::curl_options curl;
    curl.max_response_bytes = settings_.max_response_bytes;
    curl.ca_bundle = settings_.ca_bundle;
    parts_->http = http::make_curl_client(curl);
    parts_->limiter =
        std::make_unique<rate_limiter>(clock_, settings_.rate_per_second, settings_.rate_burst);
  }
  if (!parts_->proxies) {
    auto loaded = http::load_proxy_pool(
        {settings_.proxy_url, settings_.proxy_file, settings_.https_proxy}, *parts_->http,
        std::random_device{}());
    if (!loaded) {
      run_summary failed;
      failed.feed = settings_.feed;
      failed.failure = loaded.err();
      failed.status = loaded.err().kind == error_class::blocked ? run_status::blocked
                                                                : run_status::failed;
      return failed;
    }
    parts_->proxies = std::make_unique<http::proxy_pool>(std::move(loaded).value());
    parts_->token_http = http::make_proxying_client(*parts_->http, *parts_->proxies,
                                                    {settings_.home_url, settings_.token_url});
    if (!parts_->proxies->empty()) {
      log::info("run", "sending Upwork requests through proxies",
                {{"proxies", parts_->proxies->size()}});
    }
  }
  // The token provider keeps per-run state (one renewal per run), so each run gets a new one.
  parts_->tokens = make_token_provider(settings_, *parts_->token_http, db, clock_);

  page_source_options source_options;
  source_options.retry = {settings_.max_attempts, settings_.backoff_base, settings_.backoff_max};
  source_options.request_budget = settings_.request_budget;
  source_options.proxies = parts_->proxies.get();
  source_options.max_description_bytes = settings_.max_description_bytes;
  auto source = make_page_source(*parts_->http, *parts_->protocol, *parts_->tokens,
                                 *parts_->limiter, clock_, source_options);

  run_options options;
  options.feed = settings_.feed;
  options.owner = make_owner_id();
  options.page_size = settings_.page_size;
  options.max_pages = overrides.max_pages.value_or(settings_.max_pages);
  options.backfill = overrides.backfill.value_or(settings_.backfill);
  options.skew = settings_.skew;
  options.lease = settings_.lease;
  options.safety_margin = settings_.safety_margin;
  options.deadline = overrides.deadline.value_or(clock_.steady_now() + settings_.deadline);
  options.cursor_paging = settings_.source == "marketplace";
  options.on_page = overrides.on_page;
  options.stop_requested = overrides.stop_requested;

  auto summary = execute_run(db, *source, clock_, options);
  // Retention is enforced after every run, whatever its outcome, so a feed that keeps failing
  // still lets go of old postings.
  if (settings_.retention.count() > 0) (void)prune();
  log::clear_context();
  return summary;
}

result<std::int64_t> app::prune() {
  if (settings_.retention.count() <= 0) return std::int64_t{0};
  auto opened = store();
  if (!opened) return std::move(opened).err();

  auto cutoff = clock_.now() - settings_.retention;
  auto released = (*opened)->prune(settings_.feed, cutoff);
  if (!released) {
    log::error("prune", "pruning the feed's old postings failed",
               {{"feed", settings_.feed}, {"error", released.err().describe()}});
    return released;
  }
  log::info("prune", "released postings not seen within the retention",
            {{"feed", settings_.feed},
             {"retention", format_duration(settings_.retention)},
             {"postings", *released}});
  return released;
}

}  // namespace job_fetcher::run
