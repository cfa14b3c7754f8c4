// The HTTP and Lambda authenticators against the loopback authenticator double, and the parser
// of authenticator responses.
#include <gtest/gtest.h>

#include "auth/http_authenticator.hpp"
#include "auth_test_support.hpp"
#include "doubles/authenticator/authenticator_double.hpp"

namespace job_fetcher::auth {
namespace {

using testing::expect_no_secrets;
using testing::manual_clock;

constexpr const char* shared_secret = "correct horse battery staple";

TEST(token_response, accepts_every_documented_shape) {
  manual_clock clock;
  for (const char* body : {R"({"token":"abc"})", R"("{\"token\":\"abc\"}")",
                           R"({"status_code":200,"token":"abc"})",
                           R"({"statusCode":200,"body":"{\"token\":\"abc\"}"})"}) {
    SCOPED_TRACE(body);
    auto minted = parse_token_response(body, "test", clock.now());
    ASSERT_TRUE(minted.ok()) << minted.err().describe();
    EXPECT_EQ(minted->value.reveal(), "abc");
    EXPECT_EQ(minted->expires_at, clock.now() + default_token_lifetime);
  }
}

TEST(token_response, reads_expiry_fields) {
  manual_clock clock;
  auto in_number = parse_token_response(R"({"token":"a","expires_in":120})", "t", clock.now());
  auto in_string = parse_token_response(R"({"token":"a","expires_in":"120"})", "t", clock.now());
  auto absolute = parse_token_response(R"({"token":"a","expires":1900000000})", "t", clock.now());

  ASSERT_TRUE(in_number.ok());
  ASSERT_TRUE(in_string.ok());
  ASSERT_TRUE(absolute.ok());
  EXPECT_EQ(in_number->expires_at, clock.now() + std::chrono::seconds(120));
  EXPECT_EQ(in_string->expires_at, clock.now() + std::chrono::seconds(120));
  EXPECT_EQ(absolute->expires_at, timestamp(std::chrono::seconds(1'900'000'000)));
}

TEST(token_response, refusal_status_is_auth_error) {
  manual_clock clock;
  auto minted = parse_token_response(R"({"status_code":401,"error":"invalid secret"})",
                                     "http://127.0.0.1:1/", clock.now());

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::auth);
  EXPECT_EQ(minted.err().http_status, 401);
  EXPECT_NE(minted.err().message.find("invalid secret"), std::string::npos);
  EXPECT_NE(minted.err().message.find("AUTH_SECRET"), std::string::npos);
}

TEST(token_response, malformed_bodies_are_bad_response) {
  manual_clock clock;
  for (const char* body : {"not json", R"({"tok":"x"})", R"({"token":""})", R"({"token":5})",
                           R"("not json inside")", "[1,2]"}) {
    SCOPED_TRACE(body);
    auto minted = parse_token_response(body, "test", clock.now());
    ASSERT_FALSE(minted.ok());
    EXPECT_EQ(minted.err().kind, error_class::bad_response);
  }
}

TEST(http_authenticator, accepts_each_reply_shape) {
  doubles::authenticator_double remote(shared_secret);
  auto transport = http::make_curl_client();
  manual_clock clock;
  http_authenticator minter(*transport, {remote.url(), secret(shared_secret)}, clock);

  for (auto shape : {doubles::token_reply_shape::object, doubles::token_reply_shape::json_string,
                     doubles::token_reply_shape::status_object}) {
    remote.set_reply_shape(shape);
    auto minted = minter.mint();
    ASSERT_TRUE(minted.ok()) << minted.err().describe();
    EXPECT_EQ(minted->value.reveal(), remote.tokens_issued().back());
    EXPECT_EQ(minted->expires_at, clock.now() + std::chrono::hours(1));
  }
  EXPECT_EQ(remote.http_calls(), 3);
}

TEST(http_authenticator, wrong_secret_is_auth_error_without_secret) {
  doubles::authenticator_double remote(shared_secret);
  auto transport = http::make_curl_client();
  http_authenticator minter(*transport, {remote.url(), secret("wrong secret value")});

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::auth);
  EXPECT_EQ(minted.err().http_status, 401);
  EXPECT_NE(minted.err().message.find("AUTH_SECRET"), std::string::npos);
  expect_no_secrets(minted.err(), {"wrong secret value", shared_secret});
}

TEST(http_authenticator, down_is_auth_error_naming_url_not_secret) {
  std::string url;
  {
    doubles::authenticator_double stopped(shared_secret);
    url = stopped.url();
  }
  auto transport = http::make_curl_client();
  http_authenticator minter(*transport, {url, secret(shared_secret)});

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::auth);
  EXPECT_NE(minted.err().message.find(url), std::string::npos) << minted.err().describe();
  expect_no_secrets(minted.err(), {shared_secret});
}

TEST(http_authenticator, url_credentials_are_redacted_in_errors) {
  doubles::authenticator_double remote(shared_secret);
  remote.fail_next(1, 502);
  std::string url = remote.url();
  std::string with_credentials = "http://operator:url-password@" + url.substr(7) + "?key=query-key";
  auto transport = http::make_curl_client();
  http_authenticator minter(*transport, {with_credentials, secret(shared_secret)});

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::auth);
  EXPECT_EQ(minted.err().http_status, 502);
  EXPECT_EQ(minted.err().url, url);
  expect_no_secrets(minted.err(), {shared_secret, "url-password", "query-key"});
}

TEST(http_authenticator, hanging_authenticator_times_out_as_auth) {
  doubles::authenticator_double remote(shared_secret);
  remote.hang_next(1, std::chrono::seconds(10));
  auto transport = http::make_curl_client();
  http_authenticator_settings settings{remote.url(), secret(shared_secret)};
  settings.timeout = std::chrono::milliseconds(200);
  http_authenticator minter(*transport, settings);

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::auth);
  expect_no_secrets(minted.err(), {shared_secret});
  remote.stop();
}

class lambda_authenticator_test : public ::testing::Test {
 protected:
  aws::lambda_settings settings(aws::credentials creds = doubles::authenticator_double_credentials()) {
    aws::lambda_settings s;
    s.region = doubles::authenticator_double_region;
    s.endpoint = remote_.endpoint();
    s.creds = std::move(creds);
    s.timeout = std::chrono::seconds(5);
    return s;
  }

  doubles::authenticator_double remote_{shared_secret};
  std::unique_ptr<http::client> transport_ = http::make_curl_client();
};

TEST_F(lambda_authenticator_test, mints_through_signed_invoke) {
  aws::lambda_invoke_client invoker(*transport_, settings());
  lambda_authenticator minter(
      invoker, {"arn:aws:lambda:us-east-1:123456789012:function:authenticator", "prod",
                secret(shared_secret)});

  auto minted = minter.mint();

  ASSERT_TRUE(minted.ok()) << minted.err().describe();
  EXPECT_EQ(minted->value.reveal(), "double-token-1");
  EXPECT_EQ(remote_.rejected_signatures(), 0);
  ASSERT_EQ(remote_.functions_invoked().size(), 1u);
  EXPECT_EQ(remote_.functions_invoked()[0],
            "arn:aws:lambda:us-east-1:123456789012:function:authenticator:prod");
}

TEST_F(lambda_authenticator_test, wrong_secret_key_is_config_error_with_fix) {
  aws::credentials creds = doubles::authenticator_double_credentials();
  creds.secret_access_key = secret("not-the-right-secret-access-key");
  aws::lambda_invoke_client invoker(*transport_, settings(creds));
  lambda_authenticator minter(invoker, {"authenticator", "", secret(shared_secret)});

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::config);
  EXPECT_EQ(minted.err().http_status, 403);
  EXPECT_NE(minted.err().message.find("signature we calculated does not match"), std::string::npos);
  EXPECT_NE(minted.err().message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  EXPECT_EQ(remote_.rejected_signatures(), 1);
  expect_no_secrets(minted.err(), {"not-the-right-secret-access-key", shared_secret,
                                   creds.session_token.reveal()});
}

TEST_F(lambda_authenticator_test, missing_session_token_is_rejected) {
  aws::credentials creds = doubles::authenticator_double_credentials();
  creds.session_token = secret();
  aws::lambda_invoke_client invoker(*transport_, settings(creds));
  lambda_authenticator minter(invoker, {"authenticator", "", secret(shared_secret)});

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::config);
  EXPECT_EQ(remote_.rejected_signatures(), 1);
}

TEST_F(lambda_authenticator_test, function_error_is_auth_error) {
  remote_.function_error_next(1);
  aws::lambda_invoke_client invoker(*transport_, settings());
  lambda_authenticator minter(invoker, {"authenticator", "", secret(shared_secret)});

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::auth);
  EXPECT_NE(minted.err().message.find("Runtime.ExitError"), std::string::npos);
  expect_no_secrets(minted.err(), {shared_secret});
}

TEST_F(lambda_authenticator_test, refused_secret_is_auth_error) {
  aws::lambda_invoke_client invoker(*transport_, settings());
  lambda_authenticator minter(invoker, {"authenticator", "", secret("stale shared secret")});

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::auth);
  EXPECT_NE(minted.err().message.find("invalid secret"), std::string::npos);
  expect_no_secrets(minted.err(), {"stale shared secret", shared_secret});
}

TEST_F(lambda_authenticator_test, throttling_is_rate_limited) {
  remote_.fail_next(1, 429);
  aws::lambda_invoke_client invoker(*transport_, settings());
  lambda_authenticator minter(invoker, {"authenticator", "", secret(shared_secret)});

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::rate_limited);
}

}  // namespace
}  // namespace job_fetcher::auth
