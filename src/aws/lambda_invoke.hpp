// A client for the AWS Lambda Invoke API (synchronous RequestResponse invocations), signed with
// Signature Version 4.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "aws/sigv4.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "http/client.hpp"

namespace job_fetcher::aws {

struct lambda_settings {
  std::string region;    // AWS_REGION (or AWS_DEFAULT_REGION)
  std::string endpoint;  // empty: https://lambda.{region}.amazonaws.com
  credentials creds;
  std::chrono::milliseconds timeout{60'000};  // whole invocation, the function's run included
};

// Reads AWS_REGION (falling back to AWS_DEFAULT_REGION), AWS_LAMBDA_ENDPOINT and the credentials.
// A missing region or key is a config error naming the variable.
result<lambda_settings> lambda_settings_from_environment();

// Invokes functions through one http::client. Not thread-safe, like the client it uses.
class lambda_invoke_client {
 public:
  // `transport` and `clock` must outlive the client.
  lambda_invoke_client(http::client& transport, lambda_settings settings,
                       clock_source& clock = system_clock_source());

  // Builds the signed request: POST {endpoint}/2015-03-31/functions/{function}/invocations with
  // the function name or ARN URL-encoded, and ?Qualifier= when `qualifier` is not empty.
  http::request build_request(std::string_view function, std::string_view payload,
                              std::string_view qualifier = {}) const;

  // Invokes `function` with the JSON `payload` and returns the function's response payload.
  // Errors: a function error (X-Amz-Function-Error) is class auth carrying the function's
  // errorType and errorMessage; 403 (bad signature, invalid or unauthorized credentials), 404 and
  // other 4xx are config errors with the fix; 429 is rate_limited; 5xx and transport failures are
  // transient.
  result<std::string> invoke(std::string_view function, std::string_view payload,
                             std::string_view qualifier = {});

  const std::string& endpoint() const noexcept { return settings_.endpoint; }

 private:
  http::client& transport_;
  lambda_settings settings_;
  clock_source& clock_;
};

}  // namespace job_fetcher::aws
