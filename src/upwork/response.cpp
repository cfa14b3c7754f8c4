#include "upwork/response.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

#include "upwork/normalize.hpp"

namespace job_fetcher::upwork {

namespace {

bool contains_ignoring_case(std::string_view text, std::string_view needle) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  auto found = std::search(text.begin(), text.end(), needle.begin(), needle.end(),
                           [&](char a, char b) { return lower(a) == lower(b); });
  return found != text.end();
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r' ||
                           text.front() == '\n')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

bool starts_like_json(std::string_view body) {
  body = trim_spaces(body);
  return !body.empty() && (body.front() == '{' || body.front() == '[');
}

bool is_html(std::string_view content_type, std::string_view body) {
  if (starts_like_json(body)) return false;
  body = trim_spaces(body);
  return contains_ignoring_case(content_type, "html") || (!body.empty() && body.front() == '<');
}

// Returns the start of a body for an error message: cleaned text, cut at a character boundary.
std::string body_excerpt(std::string_view body) {
  constexpr std::size_t max_bytes = 200;
  std::string text = clean_text(trim_spaces(body).substr(0, max_bytes + 4));
  if (text.size() > max_bytes) {
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    text.append("…");
  }
  return text;
}

error http_error(error_class kind, int http_status, std::string message) {
  error failure = make_error(kind, std::move(message));
  failure.http_status = http_status;
  return failure;
}

}  // namespace

bool is_challenge_page(std::string_view content_type, std::string_view body) {
  if (starts_like_json(body)) return false;
  constexpr std::array<std::string_view, 8> markers = {
      "Just a moment",    "cf-chl",     "challenge-platform", "cf-browser-verification",
      "Attention Required", "cf-ray",   "cf-error",           "cloudflare"};
  // Challenge pages put their markers near the top; a bounded scan keeps huge bodies cheap.
  std::string_view head = body.substr(0, 64 * 1024);
  bool has_marker = std::any_of(markers.begin(), markers.end(), [&](std::string_view marker) {
    return contains_ignoring_case(head, marker);
  });
  return has_marker && (is_html(content_type, body) || !contains_ignoring_case(content_type, "json"));
}

std::optional<error> classify_http_status(int http_status, std::string_view content_type,
                                          std::string_view body) {
  if (http_status == 200) {
    if (!is_challenge_page(content_type, body)) return std::nullopt;
    return http_error(error_class::blocked, http_status,
                      "Upwork returned HTTP 200 with a challenge page instead of JSON; back off "
                      "or switch proxy");
  }
  if (http_status == 400 || http_status == 422) return std::nullopt;
  if (http_status == 401) {
    return http_error(error_class::auth, http_status,
                      "Upwork rejected the bearer token (HTTP 401); get a new token");
  }
  if (http_status == 403) {
    if (is_challenge_page(content_type, body) || !starts_like_json(body)) {
      return http_error(error_class::blocked, http_status,
                        "Upwork returned HTTP 403 with a challenge page instead of JSON (blocked "
                        "by Cloudflare); back off or switch proxy");
    }
    return http_error(error_class::scope, http_status,
                      fmt::format("Upwork refused the request (HTTP 403) for this token; check "
                                  "the token's permissions: {}",
                                  body_excerpt(body)));
  }
  if (http_status == 407) {
    return http_error(error_class::blocked, http_status,
                      "the proxy refused the request (HTTP 407); check the proxy credentials or "
                      "switch proxy");
  }
  if (http_status == 429) {
    return http_error(error_class::rate_limited, http_status,
                      "Upwork rate limited the request (HTTP 429); wait for Retry-After");
  }
  if (http_status >= 500 && http_status <= 599 && is_challenge_page(content_type, body)) {
    return http_error(error_class::blocked, http_status,
                      fmt::format("Upwork returned HTTP {} with a challenge page (blocked by "
                                  "Cloudflare); back off or switch proxy",
                                  http_status));
  }
  if (http_status == 408 || (http_status >= 500 && http_status <= 599)) {
    return http_error(error_class::transient, http_status,
                      fmt::format("Upwork returned HTTP {}; retry later: {}", http_status,
                                  body_excerpt(body)));
  }
  return http_error(error_class::bad_response, http_status,
                    fmt::format("Upwork returned unexpected HTTP {}: {}", http_status,
                                body_excerpt(body)));
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, timestamp now) {
  value = trim_spaces(value);
  if (value.empty()) return std::nullopt;

  bool all_digits = std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (all_digits) {
    std::int64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
    if (seconds > std::numeric_limits<std::int64_t>::max() / 1000) return std::nullopt;
    return std::chrono::milliseconds{seconds * 1000};
  }

  // An HTTP-date always names a weekday or month, so text without letters is rejected before
  // curl_getdate, which would read some bare numbers as dates.
  bool has_letter = std::any_of(value.begin(), value.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  });
  if (!has_letter) return std::nullopt;
  std::string text(value);
  time_t date = curl_getdate(text.c_str(), nullptr);
  if (date == -1) return std::nullopt;

  auto at = timestamp{std::chrono::seconds{date}};
  if (at <= now) return std::chrono::milliseconds{0};
  return std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
}

}  // namespace job_fetcher::upwork
