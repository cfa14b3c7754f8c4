// The Lambda Invoke client against a loopback server that responds like the Invoke API.
#include <gtest/gtest.h>

#include <httplib.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <thread>

#include "aws/lambda_invoke.hpp"

namespace job_fetcher::aws {
namespace {

constexpr const char* test_secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* test_session_token = "FwoGZXIvYXdzEXAMPLEsessionToken";

// One loopback HTTP server whose single Invoke route runs `handler`.
class invoke_server {
 public:
  explicit invoke_server(httplib::Server::Handler handler) {
    server_.Post(R"(/2015-03-31/functions/([^/]+)/invocations)", std::move(handler));
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~invoke_server() {
    server_.stop();
    thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

lambda_settings test_settings(const std::string& endpoint) {
  lambda_settings settings;
  settings.region = "us-east-1";
  settings.endpoint = endpoint;
  settings.creds = {"AKIDEXAMPLE", secret(test_secret_key), secret(test_session_token)};
  settings.timeout = std::chrono::seconds(5);
  return settings;
}

void expect_no_credentials(const error& e) {
  EXPECT_EQ(e.describe().find(test_secret_key), std::string::npos) << e.describe();
  EXPECT_EQ(e.describe().find(test_session_token), std::string::npos) << e.describe();
  EXPECT_EQ(e.describe().find("s3cr3t"), std::string::npos) << e.describe();
}

TEST(lambda_invoke, posts_signed_request_and_returns_payload) {
  httplib::Request seen;
  invoke_server server([&](const httplib::Request& req, httplib::Response& res) {
    seen = req;
    res.set_content(R"({"token":"t"})", "application/json");
  });
  auto transport = http::make_curl_client();
  lambda_invoke_client client(*transport, test_settings(server.endpoint()));

  auto payload = client.invoke("arn:aws:lambda:us-east-1:123456789012:function:auth",
                               R"({"secret":"s3cr3t"})", "prod");

  ASSERT_TRUE(payload.ok()) << payload.err().describe();
  EXPECT_EQ(*payload, R"({"token":"t"})");
  EXPECT_EQ(seen.target, "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3A"
                         "function%3Aauth/invocations?Qualifier=prod");
  EXPECT_EQ(seen.body, R"({"secret":"s3cr3t"})");
  EXPECT_EQ(seen.get_header_value("X-Amz-Security-Token"), test_session_token);
  EXPECT_TRUE(seen.get_header_value("Authorization").starts_with("AWS4-HMAC-SHA256 Credential="
                                                                 "AKIDEXAMPLE/"));
  EXPECT_NE(seen.get_header_value("Authorization").find("/us-east-1/lambda/aws4_request"),
            std::string::npos);
}

TEST(lambda_invoke, function_error_is_failure_with_message) {
  invoke_server server([](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Amz-Function-Error", "Unhandled");
    res.set_content(R"({"errorMessage":"mint failed: upstream 502","errorType":"Error"})",
                    "application/json");
  });
  auto transport = http::make_curl_client();
  lambda_invoke_client client(*transport, test_settings(server.endpoint()));

  auto payload = client.invoke("auth", R"({"secret":"s3cr3t"})");

  ASSERT_FALSE(payload.ok());
  EXPECT_EQ(payload.err().kind, error_class::auth);
  EXPECT_NE(payload.err().message.find("mint failed: upstream 502"), std::string::npos);
  EXPECT_NE(payload.err().message.find("auth"), std::string::npos);
  expect_no_credentials(payload.err());
}

TEST(lambda_invoke, signature_mismatch_is_config_error_with_fix) {
  invoke_server server([](const httplib::Request&, httplib::Response& res) {
    res.status = 403;
    res.set_header("x-amzn-ErrorType", "InvalidSignatureException");
    res.set_content(R"({"message":"The request signature we calculated does not match the )"
                    R"(signature you provided."})",
                    "application/json");
  });
  auto transport = http::make_curl_client();
  lambda_invoke_client client(*transport, test_settings(server.endpoint()));

  auto payload = client.invoke("auth", R"({"secret":"s3cr3t"})");

  ASSERT_FALSE(payload.ok());
  EXPECT_EQ(payload.err().kind, error_class::config);
  EXPECT_EQ(payload.err().http_status, 403);
  EXPECT_NE(payload.err().message.find("signature we calculated"), std::string::npos);
  EXPECT_NE(payload.err().message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  expect_no_credentials(payload.err());
}

TEST(lambda_invoke, maps_status_codes_to_error_classes) {
  struct status_case {
    int status;
    error_class expected;
  };
  for (auto c : {status_case{404, error_class::config}, status_case{429, error_class::rate_limited},
                 status_case{500, error_class::transient}, status_case{503, error_class::transient},
                 status_case{400, error_class::config}}) {
    SCOPED_TRACE(c.status);
    invoke_server server([&](const httplib::Request&, httplib::Response& res) {
      res.status = c.status;
      if (c.status == 429) res.set_header("Retry-After", "3");
      res.set_content(R"({"Type":"User","message":"failure"})", "application/json");
    });
    auto transport = http::make_curl_client();
    lambda_invoke_client client(*transport, test_settings(server.endpoint()));

    auto payload = client.invoke("auth", "{}");

    ASSERT_FALSE(payload.ok());
    EXPECT_EQ(payload.err().kind, c.expected);
    EXPECT_EQ(payload.err().http_status, c.status);
    EXPECT_FALSE(payload.err().url.empty());
    if (c.status == 429) {
      ASSERT_TRUE(payload.err().retry_after.has_value());
      EXPECT_EQ(*payload.err().retry_after, std::chrono::seconds(3));
    }
  }
}

TEST(lambda_invoke, unreachable_endpoint_is_transient) {
  std::string endpoint;
  {
    invoke_server closed([](const httplib::Request&, httplib::Response&) {});
    endpoint = closed.endpoint();
  }
  auto transport = http::make_curl_client();
  lambda_invoke_client client(*transport, test_settings(endpoint));

  auto payload = client.invoke("auth", R"({"secret":"s3cr3t"})");

  ASSERT_FALSE(payload.ok());
  EXPECT_EQ(payload.err().kind, error_class::transient);
  EXPECT_NE(payload.err().message.find("auth"), std::string::npos);
  expect_no_credentials(payload.err());
}

TEST(lambda_invoke, default_endpoint_is_regional) {
  auto transport = http::make_curl_client();
  lambda_settings settings = test_settings("");
  settings.region = "eu-west-1";
  lambda_invoke_client client(*transport, settings);

  EXPECT_EQ(client.endpoint(), "https://lambda.eu-west-1.amazonaws.com");
  http::request req = client.build_request("auth", "{}");
  EXPECT_EQ(req.url, "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/auth/invocations");
}

TEST(lambda_settings, environment_without_region_is_config_error) {
  unsetenv("AWS_REGION");
  unsetenv("AWS_DEFAULT_REGION");
  setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  setenv("AWS_SECRET_ACCESS_KEY", test_secret_key, 1);

  auto settings = lambda_settings_from_environment();

  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.err().kind, error_class::config);
  EXPECT_NE(settings.err().message.find("AWS_REGION"), std::string::npos);
}

TEST(lambda_settings, environment_gives_region_endpoint_and_credentials) {
  setenv("AWS_REGION", "us-west-2", 1);
  setenv("AWS_LAMBDA_ENDPOINT", "http://127.0.0.1:1", 1);
  setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  setenv("AWS_SECRET_ACCESS_KEY", test_secret_key, 1);
  setenv("AWS_SESSION_TOKEN", test_session_token, 1);

  auto settings = lambda_settings_from_environment();

  ASSERT_TRUE(settings.ok()) << settings.err().describe();
  EXPECT_EQ(settings->region, "us-west-2");
  EXPECT_EQ(settings->endpoint, "http://127.0.0.1:1");
  EXPECT_EQ(settings->creds.session_token.reveal(), test_session_token);
}

TEST(lambda_settings, missing_secret_key_is_config_error) {
  setenv("AWS_REGION", "us-west-2", 1);
  setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  unsetenv("AWS_SECRET_ACCESS_KEY");

  auto settings = lambda_settings_from_environment();

  ASSERT_FALSE(settings.ok());
  EXPECT_NE(settings.err().message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

}  // namespace
}  // namespace job_fetcher::aws
