#include "core/clock.hpp"

#include <gtest/gtest.h>

namespace job_fetcher {
namespace {

timestamp at(std::string_view text) {
  auto parsed = parse_timestamp(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(timestamp{});
}

TEST(parse_timestamp, reads_visitor_form_with_millis) {
  EXPECT_EQ(format_timestamp(at("2025-06-15T18:59:18.224Z")), "2025-06-15T18:59:18.224Z");
}

TEST(parse_timestamp, reads_marketplace_offset_without_colon) {
  EXPECT_EQ(format_timestamp(at("2025-10-16T06:06:47+0000")), "2025-10-16T06:06:47.000Z");
}

TEST(parse_timestamp, applies_nonzero_offsets) {
  EXPECT_EQ(format_timestamp(at("2025-10-16T08:06:47+02:00")), "2025-10-16T06:06:47.000Z");
  EXPECT_EQ(format_timestamp(at("2025-10-16T01:36:47-0430")), "2025-10-16T06:06:47.000Z");
}

TEST(parse_timestamp, keeps_millis_of_longer_fractions) {
  EXPECT_EQ(format_timestamp(at("2025-03-01T10:00:00.123456789+00:00")), "2025-03-01T10:00:00.123Z");
  EXPECT_EQ(format_timestamp(at("2025-03-01T10:00:00.5Z")), "2025-03-01T10:00:00.500Z");
}

TEST(parse_timestamp, rejects_malformed_text) {
  for (std::string_view bad : {"", "2025-06-15", "2025-06-15T18:59:18", "2025-13-01T00:00:00Z",
                               "2025-02-30T00:00:00Z", "2025-06-15T24:00:00Z",
                               "2025-06-15T18:59:18.Z", "2025-06-15T18:59:18Zjunk",
                               "2025-06-15T18:59:18+2", "not a time at all!!"}) {
    EXPECT_FALSE(parse_timestamp(bad).has_value()) << bad;
  }
}

TEST(format_timestamp, pads_every_field) {
  EXPECT_EQ(format_timestamp(at("0999-01-02T03:04:05.006Z")), "0999-01-02T03:04:05.006Z");
}

}  // namespace
}  // namespace job_fetcher
