#include "upwork/response.hpp"

#include <gtest/gtest.h>

namespace job_fetcher::upwork {
namespace {

using std::chrono::milliseconds;

const timestamp now = *parse_timestamp("2015-10-21T07:28:00Z");

TEST(parse_retry_after, reads_delta_seconds) {
  EXPECT_EQ(parse_retry_after("120", now), milliseconds{120'000});
  EXPECT_EQ(parse_retry_after(" 0 ", now), milliseconds{0});
}

TEST(parse_retry_after, reads_http_dates) {
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), milliseconds{30'000});
  EXPECT_EQ(parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now), milliseconds{60'000});
  EXPECT_EQ(parse_retry_after("Wed Oct 21 07:28:05 2015", now), milliseconds{5'000});
}

TEST(parse_retry_after, past_date_is_zero) {
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), milliseconds{0});
}

TEST(parse_retry_after, rejects_other_values) {
  for (const char* value : {"", "-5", "1.5", "soon", "99999999999999999999", "12abc"}) {
    EXPECT_EQ(parse_retry_after(value, now), std::nullopt) << value;
  }
}

TEST(is_challenge_page, needs_a_marker_outside_json) {
  EXPECT_TRUE(is_challenge_page("text/html", "<title>Just a moment...</title>"));
  EXPECT_FALSE(is_challenge_page("application/json", R"({"m":"Just a moment"})"));
  EXPECT_FALSE(is_challenge_page("text/html", "<html>Service Unavailable</html>"));
}

}  // namespace
}  // namespace job_fetcher::upwork
