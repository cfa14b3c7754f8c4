// Reading GraphQL response documents with simdjson's DOM: parsing with repair of invalid text,
// typed field access that reports the JSON path of what is wrong, and GraphQL `errors[]`
// classification. Used by visitor.cpp and marketplace.cpp only.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace job_fetcher::upwork::detail {

// A JSON path as linked segments on the stack, rendered ("$.data.results[7].id") only when an
// error needs it, so the success path allocates nothing for paths.
struct json_path {
  const json_path* parent = nullptr;
  std::string_view key;  // empty for an array index
  std::size_t index = 0;

  json_path child(std::string_view name) const { return {this, name, 0}; }
  json_path at(std::size_t position) const { return {this, {}, position}; }
  std::string render() const;
};

// Returns a bad_response error located at `path`.
error bad_response_at(const json_path& path, std::string_view problem);

// Parses `body` with a parser owned by the calling thread. Invalid UTF-8 bytes and unpaired
// surrogate escapes are replaced with U+FFFD and the body is parsed again, so one bad byte in
// a description does not lose the page. The element stays valid until the next call on the
// same thread.
result<simdjson::dom::element> parse_document(std::string_view body);

// Returns the member `key`, or nullopt when it is missing or null.
std::optional<simdjson::dom::element> member(simdjson::dom::object object, std::string_view key);

// Typed readers: a missing or null member gives nullopt, a member of another type gives a
// bad_response error at `path` (the path of `object`).
result<std::optional<simdjson::dom::object>> read_object(simdjson::dom::object object,
                                                         std::string_view key,
                                                         const json_path& path);
result<std::optional<simdjson::dom::array>> read_array(simdjson::dom::object object,
                                                       std::string_view key, const json_path& path);
result<std::optional<std::string_view>> read_string(simdjson::dom::object object,
                                                    std::string_view key, const json_path& path);
// A decimal sent as a string or a JSON number; the number's source text is used, never a double.
result<std::optional<std::string>> read_decimal(simdjson::dom::object object, std::string_view key,
                                                const json_path& path);
// A timestamp sent as text (every form parse_timestamp reads) or as epoch milliseconds.
result<std::optional<timestamp>> read_timestamp(simdjson::dom::object object, std::string_view key,
                                                const json_path& path);
result<std::optional<std::int64_t>> read_integer(simdjson::dom::object object,
                                                 std::string_view key, const json_path& path);
// A boolean member; missing or null gives nullopt.
result<std::optional<bool>> read_bool(simdjson::dom::object object, std::string_view key,
                                      const json_path& path);
// A string, or an integer rendered as text (contractor tiers come as either). The text of an
// integer stays valid until the next call on the same thread.
result<std::optional<std::string_view>> read_scalar_text(simdjson::dom::object object,
                                                         std::string_view key,
                                                         const json_path& path);

// Returns the member as an object, failing with bad_response when it is missing, null or not
// an object.
result<simdjson::dom::object> require_object(simdjson::dom::object object, std::string_view key,
                                             const json_path& path);

// Classifies a non-empty GraphQL `errors[]` of a response document. Permission or scope
// messages give scope, with the field in the message and `scope_fix` as the next step. Server
// timeouts give transient, and anything else (validation, unknown) gives bad_response.
// Returns nullopt when the document has no errors.
std::optional<error> classify_graphql_errors(simdjson::dom::element root, int http_status,
                                             std::string_view scope_fix);

// Reads the members of one object and keeps the first failure in a shared slot, so a posting
// is read as a list of fields and checked once at the end. Readers of nested objects share the
// slot of their parent.
class object_reader {
 public:
  object_reader(simdjson::dom::object object, const json_path& path, std::optional<error>& failure)
      : object_(object), path_(path), failure_(failure) {}

  std::optional<std::string_view> text(std::string_view key) { return keep(read_string(object_, key, path_)); }
  // A string that must be present and non-empty.
  std::string_view required_text(std::string_view key);
  std::optional<std::string_view> scalar_text(std::string_view key) {
    return keep(read_scalar_text(object_, key, path_));
  }
  std::optional<std::string> decimal(std::string_view key) { return keep(read_decimal(object_, key, path_)); }
  std::optional<timestamp> time(std::string_view key) { return keep(read_timestamp(object_, key, path_)); }
  std::optional<std::int64_t> integer(std::string_view key) { return keep(read_integer(object_, key, path_)); }
  std::optional<bool> flag(std::string_view key) { return keep(read_bool(object_, key, path_)); }
  std::optional<simdjson::dom::object> object(std::string_view key) {
    return keep(read_object(object_, key, path_));
  }
  std::optional<simdjson::dom::array> array(std::string_view key) {
    return keep(read_array(object_, key, path_));
  }

  // Records a bad_response at member `key` unless a failure is already recorded.
  void fail(std::string_view key, std::string_view problem);
  bool failed() const { return failure_.has_value(); }
  // The shared failure slot, for readers of nested objects.
  std::optional<error>* failure_slot() const { return &failure_; }
  const json_path& path() const { return path_; }

 private:
  template <class T>
  std::optional<T> keep(result<std::optional<T>> value) {
    if (value) return std::move(*value);
    if (!failure_) failure_ = std::move(value).err();
    return std::nullopt;
  }

  simdjson::dom::object object_;
  const json_path& path_;
  std::optional<error>& failure_;
};

// Checks the status (classify_http_status), parses the body and classifies its `errors[]`.
// Returns the document root only for a well-formed HTTP 200 response without GraphQL errors.
result<simdjson::dom::element> open_graphql_response(int http_status,
                                                     std::string_view content_type,
                                                     std::string_view body,
                                                     std::string_view scope_fix);

}  // namespace job_fetcher::upwork::detail
