#include "aws/events.hpp"

#include <gtest/gtest.h>

#include <string>

namespace job_fetcher::aws {
namespace {

parsed_event parse_ok(std::string_view payload) {
  auto parsed = parse_fetch_event(payload);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.err().describe());
  return parsed.ok() ? *parsed : parsed_event{};
}

error parse_failure(std::string_view payload, const event_limits& limits = {}) {
  auto parsed = parse_fetch_event(payload, limits);
  EXPECT_FALSE(parsed.ok()) << "accepted: " << payload;
  return parsed.ok() ? error{} : parsed.err();
}

// The event EventBridge sends for a scheduled rule, as documented by AWS.
constexpr std::string_view scheduled_rule_event = R"({
  "version": "0",
  "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  "source": "aws.events",
  "account": "123456789012",
  "time": "2015-10-08T16:53:06Z",
  "region": "us-east-1",
  "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],
  "detail": {}
})";

TEST(events, empty_payloads_run_the_default_feed) {
  for (std::string_view payload : {"", "  \n", "null", "{}", " { } "}) {
    parsed_event parsed = parse_ok(payload);
    EXPECT_EQ(parsed.shape, event_shape::empty) << payload;
    EXPECT_EQ(parsed.request, fetch_request{}) << payload;
  }
}

TEST(events, scheduled_rule_envelope_gives_id_and_time) {
  parsed_event parsed = parse_ok(scheduled_rule_event);

  EXPECT_EQ(parsed.shape, event_shape::eventbridge_rule);
  EXPECT_EQ(parsed.request.event_id, "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa");
  ASSERT_TRUE(parsed.request.scheduled_time.has_value());
  EXPECT_EQ(format_timestamp(*parsed.request.scheduled_time), "2015-10-08T16:53:06.000Z");
  EXPECT_FALSE(parsed.request.feed.has_value());
  EXPECT_FALSE(parsed.request.max_pages.has_value());
}

TEST(events, envelope_detail_sets_feed_and_limits) {
  parsed_event parsed = parse_ok(R"({"detail-type": "Scheduled Event", "id": "e-1",
      "time": "2025-06-15T18:59:18Z",
      "detail": {"feed": "python", "max_pages": 20, "backfill": 100}})");

  EXPECT_EQ(parsed.shape, event_shape::eventbridge_rule);
  EXPECT_EQ(parsed.request.feed, "python");
  EXPECT_EQ(parsed.request.max_pages, 20);
  EXPECT_EQ(parsed.request.backfill, 100);
  EXPECT_EQ(parsed.request.event_id, "e-1");
}

TEST(events, scheduler_raw_input_sets_feed) {
  parsed_event parsed = parse_ok(R"({"feed": "python", "max_pages": 20})");

  EXPECT_EQ(parsed.shape, event_shape::scheduler_input);
  EXPECT_EQ(parsed.request.feed, "python");
  EXPECT_EQ(parsed.request.max_pages, 20);
  EXPECT_FALSE(parsed.request.backfill.has_value());
  EXPECT_FALSE(parsed.request.event_id.has_value());
}

TEST(events, scheduler_context_attributes_are_read) {
  parsed_event parsed = parse_ok(R"({"feed": "rust",
      "event_id": "c5a1d1e2-execution", "scheduled_time": "2025-10-16T06:06:47+0000"})");

  EXPECT_EQ(parsed.request.event_id, "c5a1d1e2-execution");
  ASSERT_TRUE(parsed.request.scheduled_time.has_value());
  EXPECT_EQ(format_timestamp(*parsed.request.scheduled_time), "2025-10-16T06:06:47.000Z");
}

TEST(events, integers_as_decimal_strings_are_accepted) {
  parsed_event parsed = parse_ok(R"({"max_pages": "20", "backfill": "0"})");

  EXPECT_EQ(parsed.request.max_pages, 20);
  EXPECT_EQ(parsed.request.backfill, 0);
}

TEST(events, null_members_count_as_absent) {
  parsed_event parsed = parse_ok(R"({"feed": null, "max_pages": null, "backfill": 3})");

  EXPECT_FALSE(parsed.request.feed.has_value());
  EXPECT_FALSE(parsed.request.max_pages.has_value());
  EXPECT_EQ(parsed.request.backfill, 3);
}

TEST(events, unknown_shapes_run_the_default_feed) {
  for (std::string_view payload :
       {R"({"Records": [{"eventSource": "aws:sqs"}]})", "[1, 2]", "\"python\"", "42", "true"}) {
    parsed_event parsed = parse_ok(payload);
    EXPECT_EQ(parsed.shape, event_shape::unknown) << payload;
    EXPECT_EQ(parsed.request, fetch_request{}) << payload;
  }
}

TEST(events, non_numeric_max_pages_is_rejected) {
  error failure = parse_failure(R"({"feed": "python", "max_pages": "abc"})");

  EXPECT_EQ(failure.kind, error_class::config);
  EXPECT_EQ(failure.json_path, "$.max_pages");
  EXPECT_NE(failure.message.find("must be an integer from 1 to"), std::string::npos)
      << failure.message;
}

TEST(events, negative_max_pages_is_rejected) {
  error failure = parse_failure(R"({"max_pages": -3})");

  EXPECT_EQ(failure.json_path, "$.max_pages");
  EXPECT_NE(failure.message.find("got -3"), std::string::npos) << failure.message;
}

TEST(events, zero_max_pages_is_rejected) {
  EXPECT_EQ(parse_failure(R"({"max_pages": 0})").json_path, "$.max_pages");
}

TEST(events, fractional_and_huge_integers_are_rejected) {
  EXPECT_EQ(parse_failure(R"({"max_pages": 2.5})").json_path, "$.max_pages");
  EXPECT_EQ(parse_failure(R"({"max_pages": 18446744073709551615})").json_path, "$.max_pages");
  EXPECT_EQ(parse_failure(R"({"max_pages": "99999999999999999999999"})").json_path, "$.max_pages");
  EXPECT_EQ(parse_failure(R"({"backfill": 5001})").json_path, "$.backfill");
}

TEST(events, wrong_feed_types_are_rejected) {
  EXPECT_EQ(parse_failure(R"({"feed": 7})").json_path, "$.feed");
  EXPECT_EQ(parse_failure(R"({"feed": ""})").json_path, "$.feed");
  EXPECT_EQ(parse_failure(R"({"feed": ["python"]})").json_path, "$.feed");
  EXPECT_EQ(parse_failure(R"({"feed": ")" + std::string(129, 'x') + "\"}").json_path, "$.feed");
}

TEST(events, errors_inside_detail_name_the_detail_path) {
  error failure =
      parse_failure(R"({"detail-type": "Scheduled Event", "detail": {"max_pages": "x"}})");
  EXPECT_EQ(failure.json_path, "$.detail.max_pages");

  EXPECT_EQ(parse_failure(R"({"detail-type": "Scheduled Event", "detail": "python"})").json_path,
            "$.detail");
  EXPECT_EQ(parse_failure(R"({"detail-type": "Scheduled Event", "time": "yesterday"})").json_path,
            "$.time");
}

TEST(events, invalid_json_is_rejected) {
  for (std::string_view payload : {"{", R"({"feed": "python",})", "{\"feed\": \"\xff\"}", "nul"}) {
    error failure = parse_failure(payload);
    EXPECT_EQ(failure.kind, error_class::config) << payload;
    EXPECT_NE(failure.message.find("not valid JSON"), std::string::npos) << failure.message;
  }
}

TEST(events, deep_nesting_is_rejected) {
  std::string deep =
      R"({"feed": "python", "x": )" + std::string(100, '[') + std::string(100, ']') + "}";
  error failure = parse_failure(deep);

  EXPECT_NE(failure.message.find("nested deeper than 32 levels"), std::string::npos)
      << failure.message;
}

TEST(events, oversized_payload_is_rejected) {
  event_limits limits;
  limits.max_bytes = 64;
  std::string payload = R"({"feed": "python", "padding": ")" + std::string(100, ' ') + "\"}";

  error failure = parse_failure(payload, limits);
  EXPECT_NE(failure.message.find("the maximum is 64"), std::string::npos) << failure.message;
}

TEST(events, shape_names_are_stable) {
  EXPECT_EQ(to_string(event_shape::empty), "empty");
  EXPECT_EQ(to_string(event_shape::eventbridge_rule), "eventbridge_rule");
  EXPECT_EQ(to_string(event_shape::scheduler_input), "scheduler_input");
  EXPECT_EQ(to_string(event_shape::unknown), "unknown");
}

}  // namespace
}  // namespace job_fetcher::aws
