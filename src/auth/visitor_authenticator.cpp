#include "auth/visitor_authenticator.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "core/log.hpp"

namespace job_fetcher::auth {

namespace {

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// Returns the expiry stated by the Set-Cookie header of `name`. Max-Age takes precedence over
// Expires, as in RFC 6265.
std::optional<timestamp> cookie_expiry(const http::response& res, std::string_view name,
                                       timestamp now) {
  for (const auto& h : res.headers) {
    if (to_lower(h.name) != "set-cookie") continue;
    std::string_view value = h.value;
    auto eq = value.find('=');
    if (eq == std::string_view::npos || trim(value.substr(0, eq)) != name) continue;

    std::optional<timestamp> expires;
    std::optional<timestamp> max_age;
    std::size_t start = value.find(';');
    while (start != std::string_view::npos) {
      auto end = value.find(';', start + 1);
      std::string_view attribute = trim(value.substr(start + 1, end - start - 1));
      start = end;
      auto attr_eq = attribute.find('=');
      if (attr_eq == std::string_view::npos) continue;
      std::string key = to_lower(trim(attribute.substr(0, attr_eq)));
      std::string attr_value(trim(attribute.substr(attr_eq + 1)));
      if (key == "max-age") {
        long long seconds = 0;
        auto [ptr, ec] = std::from_chars(attr_value.data(), attr_value.data() + attr_value.size(),
                                         seconds);
        if (ec == std::errc{}) max_age = now + std::chrono::seconds(seconds);
      } else if (key == "expires") {
        time_t epoch = curl_getdate(attr_value.c_str(), nullptr);
        if (epoch != -1) expires = timestamp(std::chrono::seconds(epoch));
      }
    }
    return max_age ? max_age : expires;
  }
  return std::nullopt;
}

bool looks_like_challenge(const http::response& res) {
  const std::string& body = res.body;
  return body.find("Just a moment") != std::string::npos || body.find("cf-") != std::string::npos ||
         body.find("<html") != std::string::npos || body.find("<!DOCTYPE") != std::string::npos;
}

error status_error(const http::response& res, const std::string& redacted_url) {
  error e;
  e.http_status = res.status;
  e.url = redacted_url;
  if ((res.status == 403 || res.status == 503) && looks_like_challenge(res)) {
    e.kind = error_class::blocked;
    e.message = fmt::format("{} returned a challenge page (HTTP {}); back off or use a proxy",
                            redacted_url, res.status);
  } else if (res.status == 429) {
    e.kind = error_class::rate_limited;
    e.message = fmt::format("{} rate limited the visitor token request", redacted_url);
    if (auto after = res.header_value("Retry-After")) {
      int seconds = 0;
      std::from_chars(after->data(), after->data() + after->size(), seconds);
      if (seconds > 0) e.retry_after = std::chrono::seconds(seconds);
    }
  } else if (res.status >= 500) {
    e.kind = error_class::transient;
    e.message = fmt::format("{} failed with HTTP {}", redacted_url, res.status);
  } else {
    e.kind = error_class::auth;
    e.message = fmt::format("{} returned HTTP {} instead of setting the {} cookie; check "
                            "UPWORK_HOME_URL",
                            redacted_url, res.status, visitor_cookie_name);
  }
  return e;
}

}  // namespace

visitor_authenticator::visitor_authenticator(http::client& transport,
                                             visitor_authenticator_settings settings,
                                             clock_source& clock)
    : transport_(transport), settings_(std::move(settings)), clock_(clock) {}

result<minted_token> visitor_authenticator::mint() {
  const std::string redacted_url = http::redact_url(settings_.home_url);

  http::request req;
  req.method = "GET";
  req.url = settings_.home_url;
  req.headers.push_back({"Accept", "text/html,application/xhtml+xml"});
  req.timeout = settings_.timeout;
  req.proxy = settings_.proxy;

  auto sent = transport_.send(req);
  if (!sent) {
    error e = std::move(sent).err();
    e.message = fmt::format("requesting a visitor token from {} failed: {}", redacted_url,
                            e.message);
    e.url = redacted_url;
    return e;
  }
  if (sent->status < 200 || sent->status >= 400) return status_error(*sent, redacted_url);

  auto value = sent->cookie(visitor_cookie_name);
  if (!value || value->empty()) {
    error e = make_error(error_class::bad_response,
                         fmt::format("{} set no {} cookie; the home page may have changed, set "
                                     "UPWORK_TOKEN or configure an authenticator",
                                     redacted_url, visitor_cookie_name));
    e.http_status = sent->status;
    e.url = redacted_url;
    return e;
  }

  timestamp now = clock_.now();
  minted_token minted;
  minted.value = secret(std::move(*value));
  minted.expires_at = cookie_expiry(*sent, visitor_cookie_name, now)
                          .value_or(now + settings_.default_lifetime);
  log::info("auth.visitor", "minted a visitor token", {{"url", redacted_url}});
  return minted;
}

}  // namespace job_fetcher::auth
