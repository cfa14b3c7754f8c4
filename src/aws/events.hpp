// Lambda invocation payloads for the fetcher: the EventBridge rule envelope, EventBridge
// Scheduler's raw input, and empty or unknown events, all mapped onto one fetch_request.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace job_fetcher::aws {

// What one invocation asks the fetcher to do. An absent member means "use the configured
// setting"; an empty request runs the default feed.
struct fetch_request {
  std::optional<std::string> feed;
  std::optional<int> max_pages;
  std::optional<int> backfill;
  std::optional<std::string> event_id;      // EventBridge `id` or a Scheduler execution id
  std::optional<timestamp> scheduled_time;  // EventBridge `time` or a Scheduler scheduled time

  friend bool operator==(const fetch_request&, const fetch_request&) = default;
};

// The shape the payload was recognized as, for the log line of the invocation.
enum class event_shape {
  empty,             // no body, whitespace, `null` or `{}`
  eventbridge_rule,  // an EventBridge envelope with `detail-type` (for example "Scheduled Event")
  scheduler_input,   // a JSON object with fetch members such as {"feed": "python"}
  unknown,           // any other JSON value: the default feed runs
};

// Returns "empty", "eventbridge_rule", "scheduler_input" or "unknown".
std::string_view to_string(event_shape shape) noexcept;

struct parsed_event {
  fetch_request request;
  event_shape shape = event_shape::empty;
};

// Limits that keep a hostile payload from costing memory or stack.
struct event_limits {
  std::size_t max_bytes = 256 * 1024;  // the asynchronous invocation payload limit of Lambda
  std::size_t max_depth = 32;          // nesting levels of arrays and objects
  std::size_t max_feed_length = 128;
  int max_pages = 10'000;
  int max_backfill = 5'000;  // Upwork returns at most 5,000 results per search
};

// Parses an invocation payload.
//
// Members read, from the top-level object or, for an EventBridge envelope, from `detail`:
// `feed` (non-empty string), `max_pages` (integer >= 1), `backfill` (integer >= 0), both
// integers also accepted as decimal strings, `event_id` and `scheduled_time` (ISO-8601; the
// envelope's own `id` and `time` are used when these are absent). `null` members count as absent.
// Unknown members are ignored. Errors have class `config`, name the member in `json_path` and
// say which values are valid: invalid JSON, a payload over the limits, or a member of the wrong
// type or range.
result<parsed_event> parse_fetch_event(std::string_view payload, const event_limits& limits = {});

}  // namespace job_fetcher::aws
