// Inputs found by the fuzz targets in fuzz/, kept so the fixed failures stay fixed. The
// undefined behaviour they caused is reported reliably only under the asan preset (UBSan).
#include <gtest/gtest.h>

#include "auth/authenticator.hpp"

namespace job_fetcher::auth {
namespace {

const timestamp fixed_now{std::chrono::milliseconds{1'750'000'000'000}};

// An expiry of 1.75e27 seconds used to be cast from double to int64 out of range.
TEST(token_response_fuzz, huge_float_expiry_uses_default_lifetime) {
  auto minted = parse_token_response(
      R"({"utatus_code": 200, "token": "oauth2v2_abc", "expires": 1750055555555555555555500000})",
      "fuzz", fixed_now);
  ASSERT_TRUE(minted.ok()) << minted.err().describe();
  EXPECT_EQ(minted->expires_at, fixed_now + default_token_lifetime);
}

TEST(token_response_fuzz, huge_integer_expiry_uses_default_lifetime) {
  auto minted = parse_token_response(
      R"({"token": "t", "expires": 9223372036854775807})", "fuzz", fixed_now);
  ASSERT_TRUE(minted.ok()) << minted.err().describe();
  EXPECT_EQ(minted->expires_at, fixed_now + default_token_lifetime);
}

TEST(token_response_fuzz, huge_expires_in_string_uses_default_lifetime) {
  auto minted = parse_token_response(
      R"({"access_token": "x", "token": "t", "expires_in": "-9223372036854775807"})", "fuzz",
      fixed_now);
  ASSERT_TRUE(minted.ok()) << minted.err().describe();
  EXPECT_EQ(minted->expires_at, fixed_now + default_token_lifetime);
}

TEST(token_response_fuzz, ordinary_expiry_still_read) {
  auto minted = parse_token_response(R"({"token": "t", "expires": 1750003600.5})", "fuzz",
                                     fixed_now);
  ASSERT_TRUE(minted.ok()) << minted.err().describe();
  EXPECT_EQ(minted->expires_at, timestamp(std::chrono::seconds{1'750'003'600}));
}

}  // namespace
}  // namespace job_fetcher::auth
