// The one error model of job-fetcher: expected failures are values of type `error`, carried in
// `result<T>`. Exceptions are reserved for bugs and for invalid start-up configuration.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace job_fetcher {

// Failure class, which decides what a caller does. One value per row of the README's error table.
enum class error_class {
  auth,          // 401, or no usable bearer token: get a new token once, retry once, then fail
  scope,         // GraphQL permission error: setup error, no retry, no re-mint
  blocked,       // Cloudflare challenge, 403/503 HTML, proxy 407: back off, switch proxy
  rate_limited,  // 429: wait Retry-After within the deadline
  transient,     // 5xx, timeouts, resets, GraphQL server timeout: bounded retries with backoff
  bad_response,  // invalid JSON, missing fields, schema drift: fail, store nothing of that page
  store,         // database unreachable or constraint error: fail, the watermark stays
  config,        // missing or invalid setting: exit before any network call
};

// Returns the lower-case name used in logs, the run ledger and `--json` ("rate_limited").
std::string_view to_string(error_class kind) noexcept;

// Parses a name produced by to_string.
std::optional<error_class> parse_error_class(std::string_view name) noexcept;

// True for the classes a bounded retry may fix (transient, rate_limited, blocked).
bool is_retryable(error_class kind) noexcept;

// An expected failure with the context needed to act on it. It never contains a secret, because
// URLs are stored without query strings or credentials (see http::redact_url).
struct error {
  error_class kind = error_class::transient;
  std::string message;                          // one sentence: what failed and what to do
  int http_status = 0;                          // 0 when no HTTP response was received
  std::string url;                              // redacted
  std::string json_path;                        // for bad_response: where the document broke
  std::string sqlstate;                         // for store errors from a database
  std::optional<std::chrono::milliseconds> retry_after;  // from a Retry-After header
  // Set when the request was not sent because the run reached a limit of its own ("deadline",
  // "request_budget"): the run stops paging and ends partial with a gap, as at max_pages.
  std::string stop_reason;

  // Returns "class: message (HTTP 503, url ..., at $.data...)" for logs and the ledger.
  std::string describe() const;
};

// Builds an error of the given class with a message.
inline error make_error(error_class kind, std::string message) {
  error e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

// A value or an error. Accessing the wrong alternative is a bug and throws std::bad_variant_access.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  result(error failure) : state_(std::in_place_index<1>, std::move(failure)) {}  // NOLINT

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error& err() const& { return std::get<1>(state_); }
  error&& err() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, error> state_;
};

// The result of an operation that returns nothing on success.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error failure) : failure_(std::move(failure)) {}  // NOLINT: implicit on purpose

  bool ok() const noexcept { return !failure_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const error& err() const& { return *failure_; }
  error&& err() && { return std::move(*failure_); }

 private:
  std::optional<error> failure_;
};

// Thrown for invalid configuration at start-up; the message names the setting and the fix.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace job_fetcher
