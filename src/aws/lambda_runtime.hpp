// The AWS Lambda custom runtime: a client for the Runtime API (version 2018-06-01) and the loop
// that takes one invocation at a time, runs the handler and posts its response or error.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "http/client.hpp"

namespace job_fetcher::aws {

// Header names of the Runtime API.
inline constexpr std::string_view request_id_header = "Lambda-Runtime-Aws-Request-Id";
inline constexpr std::string_view deadline_header = "Lambda-Runtime-Deadline-Ms";
inline constexpr std::string_view function_arn_header = "Lambda-Runtime-Invoked-Function-Arn";
inline constexpr std::string_view trace_id_header = "Lambda-Runtime-Trace-Id";
inline constexpr std::string_view function_error_type_header = "Lambda-Runtime-Function-Error-Type";

// The environment variable through which X-Ray and AWS SDKs see the current trace.
inline constexpr std::string_view trace_id_env = "_X_AMZN_TRACE_ID";

// The largest response body the Runtime API accepts for a synchronous invocation (6 MiB).
inline constexpr std::size_t max_response_bytes = 6 * 1024 * 1024;

// One invocation, as returned by GET /runtime/invocation/next.
struct invocation {
  std::string request_id;
  std::string payload;   // the event JSON as received; never logged in full
  timestamp deadline{};  // Lambda-Runtime-Deadline-Ms, absolute epoch milliseconds
  std::string invoked_function_arn;
  std::string trace_id;     // empty when Lambda sent none
  bool cold_start = false;  // the first invocation of this process
  // Time between the end of the previous invocation and this one; the process may have been
  // frozen meanwhile, so a long value means pooled connections are likely stale.
  std::chrono::milliseconds idle_before{0};

  // Returns the time left until the deadline (negative once it passed).
  std::chrono::milliseconds remaining(const clock_source& clock) const;
};

// What a handler returns: a JSON response body, or an error posted as {errorMessage, errorType}.
class handler_result {
 public:
  static handler_result success(std::string json_body);
  static handler_result failure(std::string error_type, std::string error_message);
  // Uses the error class name ("rate_limited") as errorType and error::describe() as message.
  static handler_result failure(const error& failure);

  bool ok() const noexcept { return std::holds_alternative<std::string>(state_); }
  const std::string& body() const { return std::get<std::string>(state_); }
  const std::string& error_type() const { return std::get<failure_info>(state_).type; }
  const std::string& error_message() const { return std::get<failure_info>(state_).message; }

 private:
  struct failure_info {
    std::string type;
    std::string message;
  };
  explicit handler_result(std::variant<std::string, failure_info> state)
      : state_(std::move(state)) {}

  std::variant<std::string, failure_info> state_;
};

using handler = std::function<handler_result(const invocation&)>;

// The Runtime API endpoints. Errors: class transient when no HTTP response arrived or the status
// is 5xx, class bad_response for other unexpected statuses and for a /next response without a
// request id; the message includes the errorType the Runtime API returned.
class runtime_api {
 public:
  // `endpoint` is the value of AWS_LAMBDA_RUNTIME_API ("127.0.0.1:9001"). `http` must outlive
  // this object.
  runtime_api(http::client& http, std::string endpoint);

  // Waits, without a timeout, until Lambda delivers the next invocation. Missing or invalid
  // deadlines are returned as an error of class bad_response with `request_id` still known
  // through last_request_id(), so the caller can post an /error for it.
  result<invocation> next();
  result<void> post_response(std::string_view request_id, std::string body);
  result<void> post_error(std::string_view request_id, std::string_view error_type,
                          std::string_view error_message);
  result<void> post_init_error(std::string_view error_type, std::string_view error_message);

  // The request id of the last /next response, also when next() returned an error.
  const std::string& last_request_id() const noexcept { return last_request_id_; }

 private:
  std::string url(std::string_view path) const;
  result<void> post(std::string_view path, std::string body, std::string_view content_type,
                    std::string_view error_type);

  http::client& http_;
  std::string endpoint_;
  std::string last_request_id_;
};

struct loop_options {
  int max_next_attempts = 5;                    // attempts of one /next before the process exits
  std::chrono::milliseconds backoff_base{100};  // doubled after each failed attempt
  std::chrono::milliseconds backoff_max{5'000};
  std::optional<std::size_t> max_invocations;  // stop after this many; nullopt: until /next fails
};

// Runs invocations until /next fails `max_next_attempts` times in a row (returns 1) or
// `max_invocations` were handled (returns 0). A handler failure, a thrown exception included, is
// posted to /error and the loop continues. Sleeps between attempts through `clock`. Sets
// _X_AMZN_TRACE_ID and the log context `request_id` for the duration of each invocation.
int run_invocation_loop(runtime_api& api, const handler& handle, clock_source& clock,
                        const loop_options& options = {});

// Builds the handler once per process, before the first invocation. Throwing (config_error for
// invalid settings) makes the runtime post /runtime/init/error and exit.
using handler_factory = std::function<handler()>;

// The entry point for `bootstrap`: reads AWS_LAMBDA_RUNTIME_API, builds the handler, runs the
// loop with a libcurl client and the system clock. Returns the process exit code: 1 when the
// variable is missing, the handler could not be built, or the Runtime API stayed unreachable.
int run_lambda_runtime(const handler_factory& make_handler, const loop_options& options = {});

}  // namespace job_fetcher::aws
