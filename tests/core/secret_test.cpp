#include "core/secret.hpp"

#include <sstream>

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace job_fetcher {
namespace {

TEST(secret, streams_as_stars) {
  std::ostringstream out;
  out << secret("oauth2v2_abcdef0123456789");
  EXPECT_EQ(out.str(), "***");
}

TEST(secret, formats_as_stars) {
  EXPECT_EQ(fmt::format("token={}", secret("oauth2v2_abcdef0123456789")), "token=***");
}

TEST(secret, masked_shows_only_ends_of_long_values) {
  secret value("oauth2v2_abcdef0123456789");
  std::string masked = value.masked();
  EXPECT_EQ(masked.find("abcdef"), std::string::npos);
  EXPECT_NE(masked.find("oaut"), std::string::npos);
  EXPECT_NE(masked.find("25 chars"), std::string::npos);
}

TEST(secret, masked_hides_short_values_whole) {
  EXPECT_EQ(secret("short").masked(), "*** (5 chars)");
}

TEST(error_class, names_round_trip) {
  for (auto kind : {error_class::auth, error_class::scope, error_class::blocked,
                    error_class::rate_limited, error_class::transient, error_class::bad_response,
                    error_class::store, error_class::config}) {
    EXPECT_EQ(parse_error_class(to_string(kind)), kind);
  }
}

TEST(error, describe_names_status_url_and_path) {
  error e = make_error(error_class::bad_response, "missing field");
  e.http_status = 200;
  e.url = "https://example.test/api";
  e.json_path = "$.data.results[3].id";
  EXPECT_EQ(e.describe(),
            "bad_response: missing field (HTTP 200) [https://example.test/api] at $.data.results[3].id");
}

}  // namespace
}  // namespace job_fetcher
