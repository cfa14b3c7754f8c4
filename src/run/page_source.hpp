// The page source of the run loop: one Upwork source behind token handling, retries, backoff
// and the rate limit.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "http/client.hpp"
#include "http/proxy_pool.hpp"
#include "run/retry.hpp"
#include "upwork/posting.hpp"

namespace job_fetcher::run {

// Position of the next page: an offset (visitor) or a cursor (marketplace).
struct page_cursor {
  std::int64_t offset = 0;
  std::string after = "0";
  int count = 50;
};

// Supplies the bearer token for Upwork requests.
class bearer_token_provider {
 public:
  virtual ~bearer_token_provider() = default;
  // Returns the token to use now (cached, or newly minted).
  virtual result<secret> get() = 0;
  // Called after Upwork rejected `rejected` with 401: returns a different token or fails as auth.
  virtual result<secret> replace(const secret& rejected) = 0;
  // Upwork requests made by the provider itself (home page, OAuth2), for the request count.
  virtual std::int64_t upstream_requests() const { return 0; }
};

// Builds one source's HTTP request and classifies its response.
class search_protocol {
 public:
  virtual ~search_protocol() = default;
  virtual http::request build(const page_cursor& cursor, const secret& token,
                              bool inline_pagination) const = 0;
  virtual result<upwork::page> parse(const http::response& response) const = 0;
  // True when a failure of this source is worth one retry with pagination inlined in the query.
  virtual bool wants_inline_retry(const error&) const { return false; }
};

// Fetches pages: rate limit, token, retries with backoff, one token renewal after a 401.
class page_source {
 public:
  virtual ~page_source() = default;
  virtual result<upwork::page> fetch(const page_cursor& cursor,
                                     std::chrono::steady_clock::time_point deadline) = 0;
  // Upwork requests sent so far (searches, retries and token requests).
  virtual std::int64_t requests() const = 0;
};

struct page_source_options {
  retry_policy retry;
  int request_budget = 400;
  std::uint64_t seed = std::random_device{}();
  // Proxies for the search requests, one per attempt, so a retry goes out through the next one.
  // Null or empty: direct. Must outlive the page source.
  http::proxy_pool* proxies = nullptr;
  // Longer descriptions are cut at a UTF-8 boundary and end in description_truncation_marker;
  // zero keeps every description whole.
  std::size_t max_description_bytes = 64 * 1024;
};

// Ends a description that was cut to the maximum length.
inline constexpr std::string_view description_truncation_marker = "\n[truncated]";

// Cuts `posting`'s description to at most `max_bytes` bytes, marker included (when `max_bytes` is
// at least the marker's size), at a UTF-8 character boundary, and recomputes its content hash.
// Returns true when it cut.
bool truncate_description(upwork::posting& posting, std::size_t max_bytes);

std::unique_ptr<page_source> make_page_source(http::client& client,
                                              const search_protocol& protocol,
                                              bearer_token_provider& tokens,
                                              rate_limiter& limiter, clock_source& clock,
                                              page_source_options options);

}  // namespace job_fetcher::run
