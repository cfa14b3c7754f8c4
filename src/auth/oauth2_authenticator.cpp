#include "auth/oauth2_authenticator.hpp"

#include <charconv>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/log.hpp"

namespace job_fetcher::auth {

namespace {

using nlohmann::json;

std::string form_field(std::string_view name, std::string_view value) {
  return http::url_encode(name) + "=" + http::url_encode(value);
}

std::string json_text(const json& document, const char* key) {
  if (!document.is_object() || !document.contains(key) || !document[key].is_string()) return {};
  return document[key].get<std::string>();
}

std::optional<std::int64_t> read_seconds(const json& value) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number()) return static_cast<std::int64_t>(value.get<double>());
  if (!value.is_string()) return std::nullopt;
  const auto& text = value.get_ref<const std::string&>();
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return seconds;
}

error grant_error(error_class kind, const http::response& res, const std::string& redacted_url,
                  std::string message) {
  error e = make_error(kind, std::move(message));
  e.http_status = res.status;
  e.url = redacted_url;
  return e;
}

error status_error(const http::response& res, const std::string& redacted_url) {
  json body = json::parse(res.body, nullptr, false);
  std::string code = json_text(body, "error");
  std::string description = json_text(body, "error_description");
  std::string reason = code.empty() ? "no reason given" : code;
  if (!description.empty()) reason += ": " + description;

  if (res.status == 400 && code == "invalid_grant") {
    return grant_error(error_class::auth, res, redacted_url,
                       fmt::format("refresh token expired or revoked ({}); authorize the app "
                                   "again in Upwork's OAuth2 flow and set UPWORK_REFRESH_TOKEN to "
                                   "the new refresh token",
                                   reason));
  }
  if (res.status == 401 || code == "invalid_client") {
    return grant_error(error_class::config, res, redacted_url,
                       fmt::format("token endpoint {} rejected the client ({}); check "
                                   "UPWORK_CLIENT_ID and UPWORK_CLIENT_SECRET",
                                   redacted_url, reason));
  }
  if (res.status == 429) {
    error e = grant_error(error_class::rate_limited, res, redacted_url,
                          fmt::format("token endpoint {} rate limited the request", redacted_url));
    if (auto after = res.header_value("Retry-After")) {
      int seconds = 0;
      std::from_chars(after->data(), after->data() + after->size(), seconds);
      if (seconds > 0) e.retry_after = std::chrono::seconds(seconds);
    }
    return e;
  }
  if (res.status >= 500) {
    return grant_error(error_class::transient, res, redacted_url,
                       fmt::format("token endpoint {} failed with HTTP {}", redacted_url,
                                   res.status));
  }
  return grant_error(error_class::config, res, redacted_url,
                     fmt::format("token endpoint {} rejected the grant ({}); check "
                                 "UPWORK_TOKEN_URL and the app's OAuth2 settings",
                                 redacted_url, reason));
}

}  // namespace

std::string refresh_token_name(const std::string& token_name) { return token_name + ":refresh"; }

oauth2_authenticator::oauth2_authenticator(http::client& transport, store::job_store& store,
                                           oauth2_settings settings, clock_source& clock)
    : transport_(transport), store_(store), settings_(std::move(settings)), clock_(clock) {}

result<minted_token> oauth2_authenticator::mint() {
  if (settings_.grant == oauth2_grant::client_credentials) return request_grant(secret());

  auto current = current_refresh_token();
  if (!current) return std::move(current).err();
  if (current->empty()) {
    return make_error(error_class::config,
                      "no OAuth2 refresh token: set UPWORK_REFRESH_TOKEN to the refresh token of "
                      "an authorized Upwork app");
  }

  auto minted = request_grant(*current);
  bool rejected = !minted && minted.err().kind == error_class::auth && minted.err().http_status == 400;
  bool configured_differs = !settings_.refresh_token.empty() && settings_.refresh_token != *current;
  if (rejected && configured_differs) {
    // The cached token was revoked, and the operator may have pasted a new one since.
    log::warn("auth.oauth2", "cached refresh token rejected; trying UPWORK_REFRESH_TOKEN");
    return request_grant(settings_.refresh_token);
  }
  return minted;
}

result<secret> oauth2_authenticator::current_refresh_token() {
  auto cached = store_.read_token(refresh_token_name(settings_.token_name), clock_.now());
  if (!cached) return std::move(cached).err();
  if (cached->has_value()) return (*cached)->value;
  return settings_.refresh_token;
}

result<minted_token> oauth2_authenticator::request_grant(const secret& refresh_token) {
  const std::string redacted_url = http::redact_url(settings_.token_url);

  std::string form;
  if (settings_.grant == oauth2_grant::refresh_token) {
    form = form_field("grant_type", "refresh_token") + "&" +
           form_field("refresh_token", refresh_token.reveal());
  } else {
    form = form_field("grant_type", "client_credentials");
  }
  form += "&" + form_field("client_id", settings_.client_id) + "&" +
          form_field("client_secret", settings_.client_secret.reveal());

  http::request req;
  req.method = "POST";
  req.url = settings_.token_url;
  req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  req.headers.push_back({"Accept", "application/json"});
  req.body = std::move(form);
  req.timeout = settings_.timeout;

  auto sent = transport_.send(req);
  if (!sent) {
    error e = std::move(sent).err();
    e.message = fmt::format("token endpoint {} could not be reached: {}", redacted_url, e.message);
    e.url = redacted_url;
    return e;
  }
  if (sent->status != 200) return status_error(*sent, redacted_url);
  return accept_grant(sent->body, refresh_token);
}

result<minted_token> oauth2_authenticator::accept_grant(const std::string& body,
                                                        const secret& refresh_token) {
  const std::string redacted_url = http::redact_url(settings_.token_url);
  json document = json::parse(body, nullptr, false);
  std::string access_token = json_text(document, "access_token");
  if (access_token.empty()) {
    error e = make_error(error_class::bad_response,
                         fmt::format("token endpoint {} returned no access_token", redacted_url));
    e.json_path = "$.access_token";
    e.url = redacted_url;
    return e;
  }

  timestamp now = clock_.now();
  minted_token minted;
  minted.value = secret(std::move(access_token));
  minted.expires_at = now + settings_.default_lifetime;
  if (document.contains("expires_in")) {
    if (auto seconds = read_seconds(document["expires_in"])) {
      minted.expires_at = now + std::chrono::seconds(*seconds);
    }
  }

  // A rotated refresh token replaces the old one at once: the old one may already be void, so
  // losing the new one would need a manual re-authorization.
  std::string next_refresh = json_text(document, "refresh_token");
  if (!next_refresh.empty()) {
    store::cached_token row;
    row.name = refresh_token_name(settings_.token_name);
    row.value = secret(std::move(next_refresh));
    row.expires = std::chrono::duration_cast<std::chrono::seconds>(
                      (now + settings_.refresh_token_lifetime).time_since_epoch())
                      .count();
    row.created_at = now;
    bool rotated = row.value != refresh_token;
    auto written = store_.write_token(row);
    if (!written) {
      error e = std::move(written).err();
      e.message = "saving the new OAuth2 refresh token failed: " + e.message;
      return e;
    }
    if (rotated) log::info("auth.oauth2", "stored the rotated refresh token");
  }
  log::info("auth.oauth2", "minted an access token", {{"url", redacted_url}});
  return minted;
}

}  // namespace job_fetcher::auth
