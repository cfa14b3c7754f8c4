#include "run/app.hpp"

#include <unistd.h>

#include <atomic>

#include <fmt/format.h>

#include "core/log.hpp"

namespace job_fetcher::run {

struct app::parts {
  std::unique_ptr<store::job_store> store;
  std::unique_ptr<http::client> http;
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

result<store::job_store*> app::store() {
  if (!parts_->store) {
    auto opened = store::open_store(settings_.store);
    if (!opened) return std::move(opened).err();
    auto migrated = (*opened)->migrate();
    if (!migrated) return std::move(migrated).err();
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
  // The token provider holds per-run state (one renewal per run), so each run gets a new one.
  parts_->tokens = make_token_provider(settings_, *parts_->http, db, clock_);

  page_source_options source_options;
  source_options.retry = {settings_.max_attempts, settings_.backoff_base, settings_.backoff_max};
  source_options.request_budget = settings_.request_budget;
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
  log::clear_context();
  return summary;
}

}  // namespace job_fetcher::run
