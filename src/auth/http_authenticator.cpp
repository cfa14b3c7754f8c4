#include "auth/http_authenticator.hpp"

#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/log.hpp"

namespace job_fetcher::auth {

namespace {

std::string secret_payload(const secret& auth_secret) {
  return nlohmann::json{{"secret", auth_secret.reveal()}}.dump();
}

error http_status_error(const http::response& res, const std::string& redacted_url) {
  // A rejection body names the reason ("invalid secret"). Bodies of other statuses may be HTML
  // pages, so only JSON "error" or "message" texts are quoted.
  std::string reason;
  auto parsed = nlohmann::json::parse(res.body, nullptr, false);
  if (parsed.is_object()) {
    for (const char* key : {"error", "message"}) {
      if (parsed.contains(key) && parsed[key].is_string()) reason = parsed[key].get<std::string>();
    }
  }

  std::string fix = res.status == 401 || res.status == 403
                        ? "check that AUTH_SECRET matches the authenticator's secret"
                        : "check the authenticator's logs and that AUTHORIZER_URL is right";
  error e = make_error(error_class::auth,
                       fmt::format("authenticator {} returned HTTP {}{}; {}", redacted_url,
                                   res.status, reason.empty() ? "" : " (" + reason + ")", fix));
  e.http_status = res.status;
  e.url = redacted_url;
  return e;
}

}  // namespace

http_authenticator::http_authenticator(http::client& transport,
                                       http_authenticator_settings settings, clock_source& clock)
    : transport_(transport), settings_(std::move(settings)), clock_(clock) {}

result<minted_token> http_authenticator::mint() {
  const std::string redacted_url = http::redact_url(settings_.url);

  http::request req;
  req.method = "POST";
  req.url = settings_.url;
  req.headers.push_back({"Content-Type", "application/json"});
  req.headers.push_back({"Accept", "application/json"});
  req.body = secret_payload(settings_.auth_secret);
  req.timeout = settings_.timeout;

  auto sent = transport_.send(req);
  if (!sent) {
    error e = std::move(sent).err();
    e.kind = error_class::auth;
    e.message = fmt::format("authenticator {} could not be reached: {}; check AUTHORIZER_URL and "
                            "that the authenticator is running",
                            redacted_url, e.message);
    e.url = redacted_url;
    return e;
  }
  if (sent->status < 200 || sent->status >= 300) return http_status_error(*sent, redacted_url);

  auto minted = parse_token_response(sent->body, redacted_url, clock_.now(),
                                     settings_.default_lifetime);
  if (!minted) {
    error e = std::move(minted).err();
    e.url = redacted_url;
    return e;
  }
  log::info("auth.http", "minted a token", {{"url", redacted_url}});
  return minted;
}

lambda_authenticator::lambda_authenticator(aws::lambda_invoke_client& invoker,
                                           lambda_authenticator_settings settings,
                                           clock_source& clock)
    : invoker_(invoker), settings_(std::move(settings)), clock_(clock) {}

result<minted_token> lambda_authenticator::mint() {
  auto payload = invoker_.invoke(settings_.function, secret_payload(settings_.auth_secret),
                                 settings_.qualifier);
  if (!payload) return std::move(payload).err();

  std::string source = fmt::format("function {}", settings_.function);
  auto minted = parse_token_response(*payload, source, clock_.now(), settings_.default_lifetime);
  if (!minted) return minted;
  log::info("auth.lambda", "minted a token", {{"function", settings_.function}});
  return minted;
}

}  // namespace job_fetcher::auth
