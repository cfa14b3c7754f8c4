// The Lambda faces of job-fetcher: `_HANDLER=fetch` (default) runs a feed per event and
// `_HANDLER=authenticate` is the Authenticator.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/authenticate_handler.hpp"
#include "aws/ca_bundle.hpp"
#include "aws/emf.hpp"
#include "aws/events.hpp"
#include "aws/lambda_runtime.hpp"
#include "core/log.hpp"
#include "run/app.hpp"
#include "run/commands.hpp"
#include "run/feeds.hpp"

namespace job_fetcher::run {

namespace {

settings lambda_settings() {
  auto values = load_settings(process_env, {});
  if (values.ca_bundle.empty()) {
    auto bundle = aws::find_ca_bundle();
    if (!bundle) throw config_error(bundle.err().message);
    values.ca_bundle = *bundle;
  }
  return values;
}

void write_run_metrics(const run_summary& summary, const std::string& request_id) {
  aws::run_metrics metrics;
  metrics.feed = summary.feed;
  metrics.status = std::string(to_string(summary.status));
  if (summary.failure) metrics.failure = summary.failure->kind;
  metrics.postings_new = summary.postings_new;
  metrics.postings_seen = summary.postings_seen;
  metrics.api_requests = summary.api_requests;
  metrics.pages = summary.pages;
  metrics.duration = summary.duration;
  metrics.gap_estimated = summary.gap ? summary.gap->estimated_count : 0;
  metrics.finished_at = system_clock_source().now();
  // Skipped runs and rejected events have no ledger row, so no run id.
  if (summary.run_id != 0) metrics.run_id = std::to_string(summary.run_id);
  metrics.request_id = request_id;
  aws::write_emf(metrics);
}

// Fails an invocation whose event cannot run, with the one EMF line a failed run writes, so the
// failure shows in the metrics too.
aws::handler_result reject_event(const std::string& feed, const error& failure,
                                 const std::string& request_id) {
  run_summary rejected;
  rejected.feed = feed;
  rejected.status = run_status::failed;
  rejected.failure = failure;
  rejected.stop_reason = "error";
  write_run_metrics(rejected, request_id);
  return aws::handler_result::failure(failure);
}

aws::handler make_fetch_handler(std::shared_ptr<feed_apps> feeds, std::string default_feed) {
  return [feeds, default_feed](const aws::invocation& call) -> aws::handler_result {
    log::set_context("request_id", call.request_id);
    auto event = aws::parse_fetch_event(call.payload);
    if (!event) return reject_event(default_feed, event.err(), call.request_id);
    const auto& request = event->request;
    // The event's feed is looked up among the configured feeds (the feeds file, or the one
    // JOB_FETCHER_FEED names); an event without a feed runs the default one.
    app* fetcher = nullptr;
    try {
      fetcher = &feeds->get(request.feed.value_or(default_feed));
    } catch (const config_error& e) {
      return reject_event(request.feed.value_or(default_feed),
                          make_error(error_class::config, e.what()), call.request_id);
    }

    run_overrides overrides;
    overrides.max_pages = request.max_pages;
    overrides.backfill = request.backfill;
    // Lambda's deadline is wall-clock time; the run measures it on the steady clock.
    overrides.deadline = std::chrono::steady_clock::now() + call.remaining(system_clock_source());
    auto summary = fetcher->run_feed(overrides);
    // run_feed clears the log context when it ends, but the runtime loop still logs the outcome
    // of this invocation, and clears the context itself afterwards.
    log::set_context("request_id", call.request_id);
    write_run_metrics(summary, call.request_id);

    if (summary.status == run_status::failed || summary.status == run_status::blocked) {
      return aws::handler_result::failure(*summary.failure);
    }
    return aws::handler_result::success(summary.to_json().dump());
  };
}

aws::handler make_authenticate_handler(std::shared_ptr<app> fetcher) {
  auto client = std::shared_ptr<http::client>(http::make_curl_client(
      {fetcher->config().max_response_bytes, fetcher->config().ca_bundle, "job-fetcher/0.1"}));
  return [fetcher, client](const aws::invocation& call) -> aws::handler_result {
    log::set_context("request_id", call.request_id);
    auto store = fetcher->store();
    if (!store) return aws::handler_result::failure(store.err());
    auto minter = make_builtin_minter(fetcher->config(), *client, **store, system_clock_source());
    auth::authenticate_settings settings{fetcher->config().auth_secret,
                                         fetcher->config().token_name};
    auto body = auth::handle_authenticate(call.payload, settings, *minter, **store);
    if (!body) return aws::handler_result::failure(body.err());
    return aws::handler_result::success(*body);
  };
}

}  // namespace

int lambda_main() {
  log::configure({log::level::info, true, stdout});
  return aws::run_lambda_runtime([]() -> aws::handler {
    auto values = lambda_settings();
    configure_logging(values);
    log::options opts;
    opts.min_level = log::parse_level(values.log_level).value_or(log::level::info);
    opts.json = true;
    opts.stream = stdout;  // CloudWatch reads the function's stdout
    log::configure(opts);

    std::string handler_name = process_env("_HANDLER").value_or("fetch");
    auto fetcher = std::make_shared<app>(values);
    if (handler_name == "fetch" || handler_name.empty()) {
      return make_fetch_handler(std::make_shared<feed_apps>(load_feeds(values)), values.feed);
    }
    if (handler_name == "authenticate") {
      if (values.auth_secret.empty()) {
        throw config_error("AUTH_SECRET is not set: the authenticate handler needs the shared "
                           "secret its callers present");
      }
      return make_authenticate_handler(fetcher);
    }
    throw config_error(fmt::format("invalid _HANDLER \"{}\": expected fetch or authenticate",
                                   handler_name));
  });
}

int authenticate_command(const settings& values, const std::string& request_body) {
  app fetcher(values);
  auto store = fetcher.store();
  if (!store) {
    std::fprintf(stderr, "job-fetcher: %s\n", store.err().describe().c_str());
    return 1;
  }
  auto client = http::make_curl_client({values.max_response_bytes, values.ca_bundle, "job-fetcher/0.1"});
  auto minter = make_builtin_minter(values, *client, **store, system_clock_source());
  auth::authenticate_settings settings{values.auth_secret, values.token_name};
  auto body = auth::handle_authenticate(request_body, settings, *minter, **store);
  if (!body) {
    std::fprintf(stderr, "job-fetcher: %s\n", body.err().describe().c_str());
    return 1;
  }
  std::puts(body->c_str());
  auto parsed = nlohmann::json::parse(*body, nullptr, false);
  return parsed.is_object() && parsed.value("status_code", 0) == 200 ? 0 : 1;
}

}  // namespace job_fetcher::run
