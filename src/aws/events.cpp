#include "aws/events.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

namespace job_fetcher::aws {

namespace {

namespace dom = simdjson::dom;

error invalid_event(std::string path, std::string message) {
  error failure = make_error(error_class::config, std::move(message));
  failure.json_path = std::move(path);
  return failure;
}

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isspace(c) != 0; });
}

std::string_view json_type_name(dom::element_type type) {
  switch (type) {
    case dom::element_type::ARRAY:
      return "array";
    case dom::element_type::OBJECT:
      return "object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "number";
    case dom::element_type::STRING:
      return "string";
    case dom::element_type::BOOL:
      return "boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "value";
}

// Reads an integer member given as a JSON integer or as a string of decimal digits.
result<std::optional<int>> read_integer(dom::object object, std::string_view key,
                                        const std::string& path, int min, int max) {
  dom::element value;
  if (object[key].get(value) != simdjson::SUCCESS || value.is_null()) {
    return std::optional<int>{};
  }

  std::int64_t number = 0;
  bool parsed = false;
  if (value.is_int64()) {
    number = value.get_int64().value_unsafe();
    parsed = true;
  } else if (value.is_uint64()) {
    number = INT64_MAX;  // beyond every limit below, so the range check rejects it
    parsed = true;
  } else if (value.is_string()) {
    std::string_view text = value.get_string().value_unsafe();
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    parsed = !text.empty() && ec == std::errc{} && end == text.data() + text.size();
    if (ec == std::errc::result_out_of_range) {
      number = INT64_MAX;
      parsed = true;
    }
  }

  if (!parsed) {
    return invalid_event(path, fmt::format("invalid event: {} must be an integer from {} to {}, "
                                           "got a {}",
                                           path, min, max, json_type_name(value.type())));
  }
  if (number < min || number > max) {
    return invalid_event(path, fmt::format("invalid event: {} must be an integer from {} to {}, "
                                           "got {}",
                                           path, min, max,
                                           number == INT64_MAX ? std::string("a larger number")
                                                               : std::to_string(number)));
  }
  return std::optional<int>{static_cast<int>(number)};
}

// Reads a string member; `null` and absence both give nullopt.
result<std::optional<std::string>> read_string(dom::object object, std::string_view key,
                                               const std::string& path, std::size_t max_length) {
  dom::element value;
  if (object[key].get(value) != simdjson::SUCCESS || value.is_null()) {
    return std::optional<std::string>{};
  }
  if (!value.is_string()) {
    return invalid_event(path, fmt::format("invalid event: {} must be a string, got a {}", path,
                                           json_type_name(value.type())));
  }
  std::string_view text = value.get_string().value_unsafe();
  if (text.size() > max_length) {
    return invalid_event(path, fmt::format("invalid event: {} is {} bytes long, the maximum is {}",
                                           path, text.size(), max_length));
  }
  return std::optional<std::string>{std::string(text)};
}

result<std::optional<timestamp>> read_timestamp(dom::object object, std::string_view key,
                                                const std::string& path) {
  auto text = read_string(object, key, path, 64);
  if (!text) return std::move(text).err();
  if (!text->has_value()) return std::optional<timestamp>{};

  auto at = parse_timestamp(**text);
  if (!at) {
    return invalid_event(path, fmt::format("invalid event: {} must be an ISO-8601 time such as "
                                           "\"2025-06-15T18:59:18Z\", got \"{}\"",
                                           path, **text));
  }
  return std::optional<timestamp>{*at};
}

bool has_member(dom::object object, std::string_view key) {
  dom::element ignored;
  return object[key].get(ignored) == simdjson::SUCCESS;
}

// Reads the fetch members of `object`; `prefix` is its JSON path ("$" or "$.detail").
result<fetch_request> read_fetch_members(dom::object object, const std::string& prefix,
                                         const event_limits& limits) {
  fetch_request request;

  auto feed = read_string(object, "feed", prefix + ".feed", limits.max_feed_length);
  if (!feed) return std::move(feed).err();
  if (feed->has_value() && (*feed)->empty()) {
    return invalid_event(
        prefix + ".feed",
        fmt::format("invalid event: {}.feed must be a non-empty feed name", prefix));
  }
  request.feed = std::move(*feed);

  auto max_pages = read_integer(object, "max_pages", prefix + ".max_pages", 1, limits.max_pages);
  if (!max_pages) return std::move(max_pages).err();
  request.max_pages = *max_pages;

  auto backfill = read_integer(object, "backfill", prefix + ".backfill", 0, limits.max_backfill);
  if (!backfill) return std::move(backfill).err();
  request.backfill = *backfill;

  auto event_id = read_string(object, "event_id", prefix + ".event_id", 256);
  if (!event_id) return std::move(event_id).err();
  request.event_id = std::move(*event_id);

  auto scheduled = read_timestamp(object, "scheduled_time", prefix + ".scheduled_time");
  if (!scheduled) return std::move(scheduled).err();
  request.scheduled_time = *scheduled;

  return request;
}

// Reads an EventBridge envelope: fetch members from `detail`, `id` and `time` from the envelope.
result<fetch_request> read_envelope(dom::object envelope, const event_limits& limits) {
  fetch_request request;

  dom::element detail;
  if (envelope["detail"].get(detail) == simdjson::SUCCESS && !detail.is_null()) {
    if (!detail.is_object()) {
      return invalid_event("$.detail", fmt::format("invalid event: $.detail must be an object, "
                                                   "got a {}",
                                                   json_type_name(detail.type())));
    }
    auto members = read_fetch_members(detail.get_object().value_unsafe(), "$.detail", limits);
    if (!members) return std::move(members).err();
    request = std::move(*members);
  }

  if (!request.event_id) {
    auto id = read_string(envelope, "id", "$.id", 256);
    if (!id) return std::move(id).err();
    request.event_id = std::move(*id);
  }
  if (!request.scheduled_time) {
    auto time = read_timestamp(envelope, "time", "$.time");
    if (!time) return std::move(time).err();
    request.scheduled_time = *time;
  }
  return request;
}

bool has_fetch_member(dom::object object) {
  for (std::string_view key : {"feed", "max_pages", "backfill", "event_id", "scheduled_time"}) {
    if (has_member(object, key)) return true;
  }
  return false;
}

}  // namespace

std::string_view to_string(event_shape shape) noexcept {
  switch (shape) {
    case event_shape::empty:
      return "empty";
    case event_shape::eventbridge_rule:
      return "eventbridge_rule";
    case event_shape::scheduler_input:
      return "scheduler_input";
    case event_shape::unknown:
      return "unknown";
  }
  return "unknown";
}

result<parsed_event> parse_fetch_event(std::string_view payload, const event_limits& limits) {
  if (payload.size() > limits.max_bytes) {
    return invalid_event("$",
                         fmt::format("invalid event: the payload is {} bytes, the maximum is {}",
                                     payload.size(), limits.max_bytes));
  }
  if (is_blank(payload)) return parsed_event{};

  dom::parser parser;
  if (parser.allocate(payload.size(), limits.max_depth) != simdjson::SUCCESS) {
    return invalid_event("$", "invalid event: the JSON parser could not allocate its buffers");
  }
  simdjson::padded_string padded(payload);
  dom::element root;
  if (auto code = parser.parse(padded).get(root); code != simdjson::SUCCESS) {
    std::string reason = code == simdjson::DEPTH_ERROR
                             ? fmt::format("nested deeper than {} levels", limits.max_depth)
                             : std::string(simdjson::error_message(code));
    return invalid_event("$",
                         fmt::format("invalid event: the payload is not valid JSON ({})", reason));
  }

  if (root.is_null()) return parsed_event{};
  if (!root.is_object()) return parsed_event{{}, event_shape::unknown};

  dom::object object = root.get_object().value_unsafe();
  if (object.size() == 0) return parsed_event{};

  if (has_member(object, "detail-type")) {
    auto request = read_envelope(object, limits);
    if (!request) return std::move(request).err();
    return parsed_event{std::move(*request), event_shape::eventbridge_rule};
  }
  if (!has_fetch_member(object)) return parsed_event{{}, event_shape::unknown};

  auto request = read_fetch_members(object, "$", limits);
  if (!request) return std::move(request).err();
  return parsed_event{std::move(*request), event_shape::scheduler_input};
}

}  // namespace job_fetcher::aws
