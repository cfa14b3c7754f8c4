#include "upwork/json_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "upwork/normalize.hpp"
#include "upwork/response.hpp"

namespace job_fetcher::upwork::detail {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

bool contains_ignoring_case(std::string_view text, std::string_view needle) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  auto found = std::search(text.begin(), text.end(), needle.begin(), needle.end(),
                           [&](char a, char b) { return lower(a) == lower(b); });
  return found != text.end();
}

std::string_view type_name(element_type type) {
  switch (type) {
    case element_type::ARRAY: return "an array";
    case element_type::OBJECT: return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "a number";
    case element_type::STRING: return "a string";
    case element_type::BOOL: return "a boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "an unknown value";
}

error wrong_type(const json_path& path, std::string_view key, std::string_view expected,
                 element value) {
  return bad_response_at(path.child(key),
                         fmt::format("expected {}, got {}", expected, type_name(value.type())));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads the four hex digits after "\u" at `pos` (the backslash); -1 when they are not there.
int escaped_code_unit(std::string_view text, std::size_t pos) {
  if (pos + 6 > text.size() || text[pos] != '\\' || text[pos + 1] != 'u') return -1;
  int value = 0;
  for (std::size_t i = pos + 2; i < pos + 6; ++i) {
    int digit = hex_value(text[i]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

// Rewrites "\uD800"-style escapes without their other half as "\ufffd", in place: both spell six
// bytes, so nothing else moves.
void replace_unpaired_surrogate_escapes(std::string& text) {
  bool in_string = false;
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    char c = text[pos];
    if (!in_string) {
      in_string = c == '"';
      continue;
    }
    if (c == '"') {
      in_string = false;
      continue;
    }
    if (c != '\\') continue;

    int unit = escaped_code_unit(text, pos);
    if (unit < 0xD800 || unit > 0xDFFF) {
      ++pos;  // skip the escaped character
      continue;
    }
    int next = escaped_code_unit(text, pos + 6);
    if (unit <= 0xDBFF && next >= 0xDC00 && next <= 0xDFFF) {
      pos += 11;  // a valid pair
      continue;
    }
    text.replace(pos + 2, 4, "fffd");
    pos += 5;
  }
}

void copy_padded(std::string_view body, std::string& buffer) {
  buffer.resize(body.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(buffer.data(), body.data(), body.size());
}

std::string error_path_text(element error_object) {
  auto path = error_object["path"].get_array();
  if (path.error()) return {};
  std::string text;
  for (element segment : path.value()) {
    if (!text.empty()) text.push_back('.');
    if (auto name = segment.get_string(); !name.error()) {
      text.append(name.value());
    } else if (auto index = segment.get_int64(); !index.error()) {
      text.append(std::to_string(index.value()));
    }
  }
  return text;
}

// Returns the text of a member that may be missing or of another type, for error messages.
std::string_view string_or_empty(element object, std::string_view key) {
  auto value = object[key].get_string();
  return value.error() ? std::string_view{} : value.value();
}

enum class graphql_error_kind { timeout, invalid, permission };

graphql_error_kind kind_of(std::string_view message, std::string_view classification) {
  if (contains_ignoring_case(message, "permission") || contains_ignoring_case(message, "scope") ||
      contains_ignoring_case(classification, "permission") ||
      contains_ignoring_case(classification, "forbidden")) {
    return graphql_error_kind::permission;
  }
  if (contains_ignoring_case(message, "timeout") || contains_ignoring_case(message, "timed out") ||
      contains_ignoring_case(classification, "timeout")) {
    return graphql_error_kind::timeout;
  }
  return graphql_error_kind::invalid;
}

}  // namespace

std::string json_path::render() const {
  std::vector<const json_path*> segments;
  for (const json_path* segment = this; segment != nullptr; segment = segment->parent) {
    segments.push_back(segment);
  }
  std::string text = "$";
  for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
    const json_path& segment = **it;
    if (segment.parent == nullptr) continue;  // the root
    if (segment.key.empty()) {
      text.append(fmt::format("[{}]", segment.index));
    } else {
      text.push_back('.');
      text.append(segment.key);
    }
  }
  return text;
}

error bad_response_at(const json_path& path, std::string_view problem) {
  std::string location = path.render();
  error failure = make_error(error_class::bad_response,
                             fmt::format("invalid Upwork response at {}: {}", location, problem));
  failure.json_path = std::move(location);
  return failure;
}

result<element> parse_document(std::string_view body) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string buffer;

  copy_padded(body, buffer);
  auto parsed = parser.parse(buffer.data(), body.size(), false);
  if (parsed.error() == simdjson::UTF8_ERROR || parsed.error() == simdjson::STRING_ERROR) {
    std::string repaired = repair_utf8(body);
    replace_unpaired_surrogate_escapes(repaired);
    copy_padded(repaired, buffer);
    parsed = parser.parse(buffer.data(), repaired.size(), false);
  }
  if (parsed.error()) {
    return bad_response_at(json_path{}, fmt::format("invalid JSON ({})",
                                                    simdjson::error_message(parsed.error())));
  }
  return parsed.value();
}

std::optional<element> member(simdjson::dom::object object, std::string_view key) {
  auto value = object[key];
  if (value.error() || value.value().is_null()) return std::nullopt;
  return value.value();
}

result<std::optional<simdjson::dom::object>> read_object(simdjson::dom::object object,
                                                         std::string_view key,
                                                         const json_path& path) {
  auto value = member(object, key);
  if (!value) return std::optional<simdjson::dom::object>{};
  auto as_object = value->get_object();
  if (as_object.error()) return wrong_type(path, key, "an object", *value);
  return std::optional<simdjson::dom::object>{as_object.value()};
}

result<std::optional<simdjson::dom::array>> read_array(simdjson::dom::object object,
                                                       std::string_view key,
                                                       const json_path& path) {
  auto value = member(object, key);
  if (!value) return std::optional<simdjson::dom::array>{};
  auto as_array = value->get_array();
  if (as_array.error()) return wrong_type(path, key, "an array", *value);
  return std::optional<simdjson::dom::array>{as_array.value()};
}

result<std::optional<std::string_view>> read_string(simdjson::dom::object object,
                                                    std::string_view key, const json_path& path) {
  auto value = member(object, key);
  if (!value) return std::optional<std::string_view>{};
  auto text = value->get_string();
  if (text.error()) return wrong_type(path, key, "a string", *value);
  return std::optional<std::string_view>{text.value()};
}

result<std::optional<std::string_view>> read_scalar_text(simdjson::dom::object object,
                                                         std::string_view key,
                                                         const json_path& path) {
  auto value = member(object, key);
  if (!value) return std::optional<std::string_view>{};
  if (auto text = value->get_string(); !text.error()) {
    return std::optional<std::string_view>{text.value()};
  }
  if (auto number = value->get_int64(); !number.error()) {
    thread_local std::string digits;
    digits = std::to_string(number.value());
    return std::optional<std::string_view>{digits};
  }
  return wrong_type(path, key, "a string or an integer", *value);
}

result<std::optional<std::string>> read_decimal(simdjson::dom::object object,
                                                std::string_view key, const json_path& path) {
  auto value = member(object, key);
  if (!value) return std::optional<std::string>{};

  std::string integer_text;
  std::string_view text;
  if (auto as_text = value->get_string(); !as_text.error()) {
    text = as_text.value();
  } else if (auto as_integer = value->get_int64(); !as_integer.error()) {
    integer_text = std::to_string(as_integer.value());
    text = integer_text;
  } else if (value->type() == element_type::DOUBLE) {
    // The DOM keeps only the double, and amounts never go through floating point.
    return bad_response_at(path.child(key),
                           "expected a decimal string, got a fractional JSON number");
  } else {
    return wrong_type(path, key, "a decimal string", *value);
  }

  auto decimal = parse_decimal(text);
  if (!decimal) {
    return bad_response_at(path.child(key),
                           fmt::format("\"{}\" is not a non-negative decimal that fits "
                                       "numeric(12,2)",
                                       clean_text(text.substr(0, 40))));
  }
  return std::optional<std::string>{std::move(*decimal)};
}

result<std::optional<timestamp>> read_timestamp(simdjson::dom::object object, std::string_view key,
                                                const json_path& path) {
  auto value = member(object, key);
  if (!value) return std::optional<timestamp>{};
  if (auto millis = value->get_int64(); !millis.error()) {
    return std::optional<timestamp>{timestamp{std::chrono::milliseconds{millis.value()}}};
  }
  auto text = value->get_string();
  if (text.error()) return wrong_type(path, key, "a timestamp string", *value);
  auto at = parse_timestamp(text.value());
  if (!at) {
    return bad_response_at(path.child(key),
                           fmt::format("\"{}\" is not an ISO-8601 timestamp with a UTC offset",
                                       clean_text(text.value().substr(0, 40))));
  }
  return std::optional<timestamp>{*at};
}

result<std::optional<std::int64_t>> read_integer(simdjson::dom::object object,
                                                 std::string_view key, const json_path& path) {
  auto value = member(object, key);
  if (!value) return std::optional<std::int64_t>{};
  auto number = value->get_int64();
  if (number.error()) return wrong_type(path, key, "an integer", *value);
  return std::optional<std::int64_t>{number.value()};
}

result<std::optional<bool>> read_bool(simdjson::dom::object object, std::string_view key,
                                      const json_path& path) {
  auto value = member(object, key);
  if (!value) return std::optional<bool>{};
  auto flag = value->get_bool();
  if (flag.error()) return wrong_type(path, key, "a boolean", *value);
  return std::optional<bool>{flag.value()};
}

result<simdjson::dom::object> require_object(simdjson::dom::object object, std::string_view key,
                                             const json_path& path) {
  auto value = read_object(object, key, path);
  if (!value) return std::move(value).err();
  if (!value->has_value()) return bad_response_at(path.child(key), "missing or null");
  return **value;
}

std::string_view object_reader::required_text(std::string_view key) {
  std::optional<std::string_view> value = text(key);
  if (value && !value->empty()) return *value;
  fail(key, value ? "empty" : "missing or null");
  return {};
}

void object_reader::fail(std::string_view key, std::string_view problem) {
  if (!failure_) failure_ = bad_response_at(path_.child(key), problem);
}

std::optional<error> classify_graphql_errors(element root, int http_status,
                                             std::string_view scope_fix) {
  auto root_object = root.get_object();
  if (root_object.error()) return std::nullopt;
  auto errors_member = member(root_object.value(), "errors");
  if (!errors_member) return std::nullopt;

  // The child keeps a pointer to its parent, so the root must outlive it: no temporary here.
  const json_path root_path;
  const json_path errors_path = root_path.child("errors");
  auto errors = errors_member->get_array();
  if (errors.error()) {
    error failure = bad_response_at(errors_path, "expected an array of GraphQL errors");
    failure.http_status = http_status;
    return failure;
  }
  if (errors.value().size() == 0) return std::nullopt;

  // The most severe kind decides. A permission error wins over every other error, and a
  // timeout is transient only when nothing else is wrong.
  std::size_t chosen_index = 0;
  graphql_error_kind chosen_kind = graphql_error_kind::timeout;
  element chosen;
  std::size_t index = 0;
  for (element item : errors.value()) {
    std::string_view message = string_or_empty(item, "message");
    std::string_view classification;
    if (auto extensions = item["extensions"]; !extensions.error()) {
      classification = string_or_empty(extensions.value(), "classification");
      if (classification.empty()) classification = string_or_empty(extensions.value(), "code");
    }
    graphql_error_kind kind = kind_of(message, classification);
    if (index == 0 || kind > chosen_kind) {
      chosen_kind = kind;
      chosen_index = index;
      chosen = item;
    }
    ++index;
  }

  std::string message = clean_text(string_or_empty(chosen, "message").substr(0, 500));
  std::string field = error_path_text(chosen);
  std::string at_field = field.empty() ? std::string{} : fmt::format(" (at {})", field);
  error failure;
  switch (chosen_kind) {
    case graphql_error_kind::permission:
      failure = make_error(error_class::scope,
                           fmt::format("Upwork refused the query for missing OAuth2 permissions: "
                                       "{}{}; {}",
                                       message, at_field, scope_fix));
      break;
    case graphql_error_kind::timeout:
      failure = make_error(error_class::transient,
                           fmt::format("Upwork's GraphQL server timed out: {}{}; retry later",
                                       message, at_field));
      break;
    case graphql_error_kind::invalid:
      failure = make_error(error_class::bad_response,
                           fmt::format("Upwork rejected the query: {}{}; the request does not "
                                       "match Upwork's schema",
                                       message, at_field));
      break;
  }
  failure.json_path = errors_path.at(chosen_index).render();
  failure.http_status = http_status;
  return failure;
}

result<element> open_graphql_response(int http_status, std::string_view content_type,
                                      std::string_view body, std::string_view scope_fix) {
  if (auto failure = classify_http_status(http_status, content_type, body)) return *failure;

  auto root = parse_document(body);
  if (!root) {
    error failure = std::move(root).err();
    failure.http_status = http_status;
    return failure;
  }
  if (auto failure = classify_graphql_errors(*root, http_status, scope_fix)) return *failure;
  if (http_status != 200) {
    error failure = make_error(error_class::bad_response,
                               fmt::format("Upwork returned HTTP {} without GraphQL errors",
                                           http_status));
    failure.http_status = http_status;
    return failure;
  }
  return root;
}

}  // namespace job_fetcher::upwork::detail
