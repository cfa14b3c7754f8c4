// Classification of Upwork HTTP responses that both sources share, and the Retry-After header.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace job_fetcher::upwork {

// Classifies a response by its status before the body is read as GraphQL. Returns nullopt when
// the body must be parsed (200 without a challenge page, and 400/422, whose JSON `errors[]`
// decide). Otherwise returns:
// - 401: auth;
// - 403 with a challenge page (HTML, "Just a moment", "cf-" markers) or no JSON body: blocked;
//   403 with a JSON body: scope, because a new token would get the same response;
// - 407: blocked (the proxy refused us);
// - 429: rate_limited (the caller reads Retry-After from the headers);
// - 408 and 5xx: transient, except a 5xx challenge page, which is blocked;
// - 200 with a challenge page: blocked;
// - any other status: bad_response.
std::optional<error> classify_http_status(int http_status, std::string_view content_type,
                                          std::string_view body);

// True for the interstitial pages Cloudflare and similar shields serve instead of the API.
bool is_challenge_page(std::string_view content_type, std::string_view body);

// Reads a Retry-After value: delta-seconds ("120") or an HTTP-date (IMF-fixdate, RFC 850 or
// asctime form), turned into a wait from `now`. A date in the past gives zero. Returns nullopt
// for anything else, including negative or overflowing numbers.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, timestamp now);

}  // namespace job_fetcher::upwork
