#include <charconv>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/authenticator.hpp"

namespace job_fetcher::auth {

namespace {

using nlohmann::json;

// Nested encodings seen in practice are one or two levels deep; more is a broken authenticator.
constexpr int max_nesting = 3;

error response_error(std::string_view source, std::string message) {
  error e = make_error(error_class::bad_response,
                       fmt::format("authenticator {} returned {}", source, message));
  return e;
}

// Seconds beyond about 3,000 years are no real expiry; rejecting them keeps the conversion to a
// millisecond timestamp from overflowing.
constexpr std::int64_t max_seconds = 100'000'000'000;

std::optional<std::int64_t> within_range(std::int64_t seconds) {
  if (seconds > max_seconds || seconds < -max_seconds) return std::nullopt;
  return seconds;
}

std::optional<std::int64_t> read_seconds(const json& value) {
  if (value.is_number_unsigned()) {
    auto seconds = value.get<std::uint64_t>();
    if (seconds > static_cast<std::uint64_t>(max_seconds)) return std::nullopt;
    return static_cast<std::int64_t>(seconds);
  }
  if (value.is_number_integer()) return within_range(value.get<std::int64_t>());
  if (value.is_number()) {
    double seconds = value.get<double>();
    // The comparison is false for NaN, so NaN is rejected too.
    if (!(seconds <= static_cast<double>(max_seconds) &&
          seconds >= -static_cast<double>(max_seconds))) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(seconds);
  }
  if (!value.is_string()) return std::nullopt;

  const auto& text = value.get_ref<const std::string&>();
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return within_range(seconds);
}

std::optional<int> read_status(const json& object) {
  for (const char* key : {"status_code", "statusCode"}) {
    if (!object.contains(key)) continue;
    if (auto status = read_seconds(object[key])) return static_cast<int>(*status);
  }
  return std::nullopt;
}

result<minted_token> parse_value(const json& document, std::string_view source, timestamp now,
                                 std::chrono::seconds default_lifetime, int depth) {
  if (depth > max_nesting) return response_error(source, "a response nested too deeply");

  if (document.is_string()) {
    json inner = json::parse(document.get<std::string>(), nullptr, false);
    if (inner.is_discarded()) return response_error(source, "a string that is not JSON");
    return parse_value(inner, source, now, default_lifetime, depth + 1);
  }
  if (!document.is_object()) return response_error(source, "JSON that is not an object");

  std::optional<int> status = read_status(document);
  if (status && *status != 200) {
    std::string reason = document.contains("error") && document["error"].is_string()
                             ? document["error"].get<std::string>()
                             : "no reason given";
    error e = make_error(error_class::auth,
                         fmt::format("authenticator {} refused to mint a token (status {}: {}); "
                                     "check that AUTH_SECRET matches the authenticator's secret",
                                     source, *status, reason));
    e.http_status = *status;
    return e;
  }

  if (!document.contains("token") && document.contains("body")) {
    return parse_value(document["body"], source, now, default_lifetime, depth + 1);
  }
  if (!document.contains("token") || !document["token"].is_string() ||
      document["token"].get_ref<const std::string&>().empty()) {
    error e = response_error(source, "no \"token\" string");
    e.json_path = "$.token";
    return e;
  }

  minted_token minted;
  minted.value = secret(document["token"].get<std::string>());
  minted.expires_at = now + default_lifetime;
  if (document.contains("expires")) {
    if (auto epoch = read_seconds(document["expires"])) {
      minted.expires_at = timestamp(std::chrono::seconds(*epoch));
    }
  } else if (document.contains("expires_in")) {
    if (auto seconds = read_seconds(document["expires_in"])) {
      minted.expires_at = now + std::chrono::seconds(*seconds);
    }
  }
  return minted;
}

}  // namespace

result<minted_token> parse_token_response(std::string_view body, std::string_view source,
                                          timestamp now, std::chrono::seconds default_lifetime) {
  json document = json::parse(body, nullptr, false);
  if (document.is_discarded()) return response_error(source, "a body that is not JSON");
  return parse_value(document, source, now, default_lifetime, 0);
}

}  // namespace job_fetcher::auth
