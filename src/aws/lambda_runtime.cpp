#include "aws/lambda_runtime.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/log.hpp"

namespace job_fetcher::aws {

namespace {

constexpr std::string_view api_version = "2018-06-01";
constexpr std::string_view error_content_type = "application/vnd.aws.lambda.error+json";

// The Runtime API is a local endpoint, and Lambda itself ends an invocation at its deadline, so
// no call gets a transfer timeout. /next may wait for hours while the process is frozen, and a
// timed-out /response would lose a finished run's result.
constexpr std::chrono::milliseconds no_timeout{0};

// Returns "errorType: errorMessage" from a Runtime API error body, or the raw body when it is
// not the {errorMessage, errorType} object.
std::string describe_api_error(const http::response& response) {
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("errorType") && body["errorType"].is_string()) {
    std::string message = body.contains("errorMessage") && body["errorMessage"].is_string()
                              ? body["errorMessage"].get<std::string>()
                              : "";
    return fmt::format("{}: {}", body["errorType"].get<std::string>(), message);
  }
  return response.body.substr(0, 200);
}

error api_status_error(const http::response& response, std::string_view operation,
                       std::string url) {
  error_class kind = response.status >= 500 ? error_class::transient : error_class::bad_response;
  error failure =
      make_error(kind, fmt::format("Lambda Runtime API {} returned HTTP {} ({})", operation,
                                   response.status, describe_api_error(response)));
  failure.http_status = response.status;
  failure.url = std::move(url);
  return failure;
}

std::optional<timestamp> parse_deadline(std::string_view text) {
  std::int64_t millis = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), millis);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || millis <= 0) {
    return std::nullopt;
  }
  return timestamp{std::chrono::milliseconds{millis}};
}

std::string error_body(std::string_view error_type, std::string_view error_message) {
  nlohmann::json body = {{"errorMessage", error_message}, {"errorType", error_type}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void export_trace_id(const std::string& trace_id) {
  std::string name(trace_id_env);
  if (trace_id.empty()) {
    ::unsetenv(name.c_str());
  } else {
    ::setenv(name.c_str(), trace_id.c_str(), 1);
  }
}

std::chrono::milliseconds backoff_delay(const loop_options& options, int failed_attempts) {
  auto delay = options.backoff_base;
  for (int i = 1; i < failed_attempts && delay < options.backoff_max; ++i) delay *= 2;
  return std::min(delay, options.backoff_max);
}

// Calls /next until it succeeds or `max_next_attempts` attempts failed. A /next response that
// carries a request id but no valid deadline is reported to /error here and does not count as
// a failed attempt, because the Runtime API itself is healthy.
std::optional<invocation> next_with_retries(runtime_api& api, clock_source& clock,
                                            const loop_options& options) {
  int failed_attempts = 0;
  while (true) {
    auto next = api.next();
    if (next) return std::move(next).value();

    const error& failure = next.err();
    if (failure.kind == error_class::bad_response && !api.last_request_id().empty()) {
      log::error("lambda.next", "invalid invocation, reporting it as failed",
                 {{"request_id", api.last_request_id()}, {"error", failure.describe()}});
      auto posted =
          api.post_error(api.last_request_id(), "Runtime.InvalidInvocation", failure.message);
      if (!posted) {
        log::error("lambda.error", "posting the error failed",
                   {{"error", posted.err().describe()}});
      }
      continue;
    }

    ++failed_attempts;
    if (failed_attempts >= options.max_next_attempts) {
      log::error("lambda.next", "giving up, the Runtime API failed every attempt",
                 {{"attempts", failed_attempts}, {"error", failure.describe()}});
      return std::nullopt;
    }
    auto delay = backoff_delay(options, failed_attempts);
    log::warn(
        "lambda.next", "retrying",
        {{"attempt", failed_attempts}, {"delay_ms", delay.count()}, {"error", failure.describe()}});
    clock.sleep_for(delay);
  }
}

// Runs the handler; an escaping exception becomes a failure, so one bad invocation never ends
// the process.
handler_result call_handler(const handler& handle, const invocation& current) {
  try {
    return handle(current);
  } catch (const std::exception& thrown) {
    return handler_result::failure("Runtime.UnhandledException", thrown.what());
  } catch (...) {
    return handler_result::failure("Runtime.UnhandledException",
                                   "the handler threw a non-standard exception");
  }
}

// Posts the handler's outcome. Failures to post are logged and not retried: a second post for
// the same request id would be rejected once the first one arrived.
void report_outcome(runtime_api& api, const invocation& current, const handler_result& outcome) {
  if (outcome.ok()) {
    auto posted = api.post_response(current.request_id, outcome.body());
    if (!posted) {
      log::error("lambda.response", "posting the response failed",
                 {{"bytes", outcome.body().size()}, {"error", posted.err().describe()}});
    }
    return;
  }

  log::error("lambda.invocation", "handler failed",
             {{"error_type", outcome.error_type()}, {"error", outcome.error_message()}});
  auto posted = api.post_error(current.request_id, outcome.error_type(), outcome.error_message());
  if (!posted) {
    log::error("lambda.error", "posting the error failed", {{"error", posted.err().describe()}});
  }
}

// Reports a start-up failure to /runtime/init/error; returns the process exit code.
int fail_init(runtime_api& api, std::string_view error_type, const std::string& message) {
  log::error("lambda.init", "start-up failed", {{"error_type", error_type}, {"error", message}});
  auto posted = api.post_init_error(error_type, message);
  if (!posted) {
    log::error("lambda.init", "posting the init error failed",
               {{"error", posted.err().describe()}});
  }
  return 1;
}

}  // namespace

std::chrono::milliseconds invocation::remaining(const clock_source& clock) const {
  return deadline - clock.now();
}

handler_result handler_result::success(std::string json_body) {
  return handler_result(std::move(json_body));
}

handler_result handler_result::failure(std::string error_type, std::string error_message) {
  return handler_result(failure_info{std::move(error_type), std::move(error_message)});
}

handler_result handler_result::failure(const error& failure) {
  return handler_result::failure(std::string(to_string(failure.kind)), failure.describe());
}

runtime_api::runtime_api(http::client& http, std::string endpoint)
    : http_(http), endpoint_(std::move(endpoint)) {}

std::string runtime_api::url(std::string_view path) const {
  return fmt::format("http://{}/{}/runtime/{}", endpoint_, api_version, path);
}

result<invocation> runtime_api::next() {
  http::request request;
  request.method = "GET";
  request.url = url("invocation/next");
  request.timeout = no_timeout;

  last_request_id_.clear();
  auto sent = http_.send(request);
  if (!sent) return std::move(sent).err();
  const http::response& response = *sent;
  if (response.status != 200) return api_status_error(response, "/next", request.url);

  auto request_id = response.header_value(request_id_header);
  if (!request_id || request_id->empty()) {
    return make_error(
        error_class::bad_response,
        fmt::format("Lambda Runtime API /next returned no {} header", request_id_header));
  }
  last_request_id_ = std::string(*request_id);

  invocation current;
  current.request_id = last_request_id_;
  auto deadline_text = response.header_value(deadline_header);
  auto deadline = deadline_text ? parse_deadline(*deadline_text) : std::nullopt;
  if (!deadline) {
    return make_error(error_class::bad_response,
                      fmt::format("Lambda Runtime API /next returned a missing or invalid {} "
                                  "header (\"{}\"), expected epoch milliseconds",
                                  deadline_header, deadline_text.value_or("")));
  }
  current.deadline = *deadline;
  current.invoked_function_arn =
      std::string(response.header_value(function_arn_header).value_or(""));
  current.trace_id = std::string(response.header_value(trace_id_header).value_or(""));
  current.payload = response.body;
  return current;
}

result<void> runtime_api::post(std::string_view path, std::string body,
                               std::string_view content_type, std::string_view error_type) {
  http::request request;
  request.method = "POST";
  request.url = url(path);
  request.timeout = no_timeout;
  request.headers.push_back({"Content-Type", std::string(content_type)});
  if (!error_type.empty()) {
    request.headers.push_back({std::string(function_error_type_header), std::string(error_type)});
  }
  request.body = std::move(body);

  auto sent = http_.send(request);
  if (!sent) return std::move(sent).err();
  if (sent->status != 202) return api_status_error(*sent, fmt::format("/{}", path), request.url);
  return {};
}

result<void> runtime_api::post_response(std::string_view request_id, std::string body) {
  return post(fmt::format("invocation/{}/response", http::url_encode(request_id)), std::move(body),
              "application/json", "");
}

result<void> runtime_api::post_error(std::string_view request_id, std::string_view error_type,
                                     std::string_view error_message) {
  return post(fmt::format("invocation/{}/error", http::url_encode(request_id)),
              error_body(error_type, error_message), error_content_type, error_type);
}

result<void> runtime_api::post_init_error(std::string_view error_type,
                                          std::string_view error_message) {
  return post("init/error", error_body(error_type, error_message), error_content_type, error_type);
}

int run_invocation_loop(runtime_api& api, const handler& handle, clock_source& clock,
                        const loop_options& options) {
  std::size_t handled = 0;
  std::optional<std::chrono::steady_clock::time_point> previous_end;

  while (!options.max_invocations || handled < *options.max_invocations) {
    auto next = next_with_retries(api, clock, options);
    if (!next) return 1;

    invocation& current = *next;
    auto started = clock.steady_now();
    current.cold_start = !previous_end.has_value();
    if (previous_end) {
      current.idle_before =
          std::chrono::duration_cast<std::chrono::milliseconds>(started - *previous_end);
    }

    export_trace_id(current.trace_id);
    log::set_context("request_id", current.request_id);
    log::info("lambda.invocation", "started",
              {{"remaining_ms", current.remaining(clock).count()},
               {"cold_start", current.cold_start},
               {"payload_bytes", current.payload.size()}});

    handler_result outcome = call_handler(handle, current);
    report_outcome(api, current, outcome);

    previous_end = clock.steady_now();
    log::set_context("request_id", current.request_id);  // the handler may have cleared it
    log::info(
        "lambda.invocation", "finished",
        {{"ok", outcome.ok()},
         {"duration_ms",
          std::chrono::duration_cast<std::chrono::milliseconds>(*previous_end - started).count()}});
    log::clear_context();
    export_trace_id("");
    ++handled;
  }
  return 0;
}

int run_lambda_runtime(const handler_factory& make_handler, const loop_options& options) {
  const char* endpoint = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (endpoint == nullptr || *endpoint == '\0') {
    log::error("lambda.init",
               "AWS_LAMBDA_RUNTIME_API is not set; run bootstrap inside Lambda or "
               "start the runtime emulator");
    return 1;
  }

  auto http = http::make_curl_client();
  runtime_api api(*http, endpoint);

  handler handle;
  try {
    handle = make_handler();
  } catch (const config_error& invalid) {
    return fail_init(api, "Runtime.ConfigError", invalid.what());
  } catch (const std::exception& thrown) {
    return fail_init(api, "Runtime.InitError", thrown.what());
  }
  if (!handle)
    return fail_init(api, "Runtime.InitError", "the handler factory returned no handler");

  log::info("lambda.init", "runtime started", {{"endpoint", endpoint}});
  return run_invocation_loop(api, handle, system_clock_source(), options);
}

}  // namespace job_fetcher::aws
