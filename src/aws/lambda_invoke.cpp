#include "aws/lambda_invoke.hpp"

#include <cstdlib>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace job_fetcher::aws {

namespace {

std::string read_env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// Returns the "message" (or "Message", or "errorMessage") field of an AWS JSON error body, or a
// short excerpt of a body that is not JSON.
std::string aws_error_message(std::string_view body) {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_object()) {
    for (const char* key : {"message", "Message", "errorMessage"}) {
      if (parsed.contains(key) && parsed[key].is_string()) return parsed[key].get<std::string>();
    }
  }
  constexpr std::size_t max_excerpt = 200;
  return std::string(body.substr(0, max_excerpt));
}

error invoke_error(error_class kind, int status, const std::string& url, std::string message) {
  error e = make_error(kind, std::move(message));
  e.http_status = status;
  e.url = http::redact_url(url);
  return e;
}

error function_error(std::string_view function, const http::response& res, const std::string& url) {
  std::string type = std::string(res.header_value("X-Amz-Function-Error").value_or("Unhandled"));
  std::string message = aws_error_message(res.body);
  auto parsed = nlohmann::json::parse(res.body, nullptr, false);
  if (parsed.is_object() && parsed.contains("errorType") && parsed["errorType"].is_string()) {
    type = parsed["errorType"].get<std::string>();
  }
  return invoke_error(error_class::auth, res.status, url,
                      fmt::format("Lambda function {} failed ({}): {}; see its CloudWatch logs",
                                  function, type, message));
}

error status_error(std::string_view function, const http::response& res, const std::string& url,
                   const std::string& region) {
  std::string aws_message = aws_error_message(res.body);
  std::string aws_type = std::string(res.header_value("x-amzn-ErrorType").value_or(""));
  aws_type = aws_type.substr(0, aws_type.find(':'));

  if (res.status == 403) {
    return invoke_error(
        error_class::config, res.status, url,
        fmt::format("Lambda rejected the request to invoke {}: {}; check AWS_ACCESS_KEY_ID, "
                    "AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (temporary credentials need all "
                    "three), AWS_REGION and the system clock, and that the role may call "
                    "lambda:InvokeFunction on it",
                    function, aws_message));
  }
  if (res.status == 404) {
    return invoke_error(error_class::config, res.status, url,
                        fmt::format("Lambda function {} not found in region {}: {}; set "
                                    "AUTHENTICATOR_FUNCTION to an existing function name or ARN",
                                    function, region, aws_message));
  }
  if (res.status == 429) {
    error e = invoke_error(error_class::rate_limited, res.status, url,
                           fmt::format("Lambda throttled the invocation of {}: {}", function,
                                       aws_message));
    if (auto after = res.header_value("Retry-After")) {
      int seconds = std::atoi(std::string(*after).c_str());
      if (seconds > 0) e.retry_after = std::chrono::seconds(seconds);
    }
    return e;
  }
  if (res.status >= 500) {
    return invoke_error(error_class::transient, res.status, url,
                        fmt::format("Lambda failed to invoke {}: {} {}", function, aws_type,
                                    aws_message));
  }
  return invoke_error(error_class::config, res.status, url,
                      fmt::format("Lambda rejected the invocation of {}: {} {}", function, aws_type,
                                  aws_message));
}

}  // namespace

result<lambda_settings> lambda_settings_from_environment() {
  lambda_settings settings;
  settings.region = read_env("AWS_REGION");
  if (settings.region.empty()) settings.region = read_env("AWS_DEFAULT_REGION");
  if (settings.region.empty()) {
    return make_error(error_class::config,
                      "AWS_REGION is not set; set it to the region of the authenticator function "
                      "(for example us-east-1)");
  }
  settings.endpoint = read_env("AWS_LAMBDA_ENDPOINT");

  auto creds = credentials_from_environment();
  if (!creds) return creds.err();
  settings.creds = std::move(creds.value());
  return settings;
}

lambda_invoke_client::lambda_invoke_client(http::client& transport, lambda_settings settings,
                                           clock_source& clock)
    : transport_(transport), settings_(std::move(settings)), clock_(clock) {
  if (settings_.endpoint.empty()) {
    settings_.endpoint = fmt::format("https://lambda.{}.amazonaws.com", settings_.region);
  }
  while (settings_.endpoint.ends_with('/')) settings_.endpoint.pop_back();
}

http::request lambda_invoke_client::build_request(std::string_view function,
                                                  std::string_view payload,
                                                  std::string_view qualifier) const {
  http::request req;
  req.method = "POST";
  req.url = fmt::format("{}/2015-03-31/functions/{}/invocations", settings_.endpoint,
                        http::url_encode(function));
  if (!qualifier.empty()) req.url += "?Qualifier=" + http::url_encode(qualifier);
  req.headers.push_back({"Content-Type", "application/json"});
  req.headers.push_back({"X-Amz-Invocation-Type", "RequestResponse"});
  req.body = std::string(payload);
  req.timeout = settings_.timeout;

  sigv4::sign(req, settings_.creds, {settings_.region, "lambda"}, clock_.now());
  return req;
}

result<std::string> lambda_invoke_client::invoke(std::string_view function,
                                                 std::string_view payload,
                                                 std::string_view qualifier) {
  http::request req = build_request(function, payload, qualifier);

  auto sent = transport_.send(req);
  if (!sent) {
    error e = std::move(sent).err();
    e.message = fmt::format("invoking Lambda function {} failed: {}", function, e.message);
    if (e.url.empty()) e.url = http::redact_url(req.url);
    return e;
  }

  const http::response& res = sent.value();
  if (res.status == 200 && res.header_value("X-Amz-Function-Error")) {
    return function_error(function, res, req.url);
  }
  if (res.status < 200 || res.status >= 300) {
    return status_error(function, res, req.url, settings_.region);
  }
  return res.body;
}

}  // namespace job_fetcher::aws
