// Authenticators that ask another service for a token: an HTTP endpoint (AUTHORIZER_URL) or an
// AWS Lambda function (AUTHENTICATOR_FUNCTION). Both send {"secret": AUTH_SECRET}.
#pragma once

#include <chrono>
#include <string>

#include "auth/authenticator.hpp"
#include "aws/lambda_invoke.hpp"
#include "http/client.hpp"

namespace job_fetcher::auth {

struct http_authenticator_settings {
  std::string url;  // AUTHORIZER_URL
  secret auth_secret;
  std::chrono::milliseconds timeout{30'000};
  std::chrono::seconds default_lifetime = default_token_lifetime;
};

// POSTs {"secret": …} to the URL and parses the response with parse_token_response. Every
// failure (unreachable, non-2xx status, refused secret) is an auth error naming the redacted URL;
// an unreadable body is bad_response.
class http_authenticator final : public authenticator {
 public:
  // `transport` and `clock` must outlive the authenticator.
  http_authenticator(http::client& transport, http_authenticator_settings settings,
                     clock_source& clock = system_clock_source());

  result<minted_token> mint() override;

 private:
  http::client& transport_;
  http_authenticator_settings settings_;
  clock_source& clock_;
};

struct lambda_authenticator_settings {
  std::string function;   // AUTHENTICATOR_FUNCTION: name or ARN
  std::string qualifier;  // AUTHENTICATOR_QUALIFIER: alias or version, may be empty
  secret auth_secret;
  std::chrono::seconds default_lifetime = default_token_lifetime;
};

// Invokes the function with {"secret": …} and parses its payload with parse_token_response.
// Invoke errors keep the classes of lambda_invoke_client::invoke.
class lambda_authenticator final : public authenticator {
 public:
  // `invoker` and `clock` must outlive the authenticator.
  lambda_authenticator(aws::lambda_invoke_client& invoker, lambda_authenticator_settings settings,
                       clock_source& clock = system_clock_source());

  result<minted_token> mint() override;

 private:
  aws::lambda_invoke_client& invoker_;
  lambda_authenticator_settings settings_;
  clock_source& clock_;
};

}  // namespace job_fetcher::auth
