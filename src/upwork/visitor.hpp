// The visitor source: Upwork's public job search GraphQL query (visitorJobSearchV1) as the
// search page uses it with a visitor bearer token.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "upwork/posting.hpp"
#include "upwork/response.hpp"

namespace job_fetcher::upwork {

constexpr std::string_view visitor_source_name = "visitor";
constexpr int max_visitor_page_size = 50;
constexpr int max_visitor_results = 5000;  // offset + count may not pass this
constexpr std::size_t max_visitor_query_characters = 500;

// A whole-number range of a filter; either end may be open.
struct amount_range {
  std::optional<std::int64_t> min;
  std::optional<std::int64_t> max;
};

// Search filters as requestVariables members. List values are sent as given.
// NOTE: the value sets of workload, duration and client_hires are those of the search page's
// URL parameters; no public capture shows them inside requestVariables.
struct search_filters {
  std::optional<std::string> job_type;       // "hourly" | "fixed" (jobType)
  std::vector<std::string> contractor_tier;  // EntryLevel | IntermediateLevel | ExpertLevel
  std::vector<std::string> workload;         // as_needed | part_time | full_time
  std::vector<std::string> duration;         // week | month | semester | ongoing (durationV3)
  std::vector<std::string> client_hires;     // 0 | 1-9 | 10- (clientHires)
  std::optional<amount_range> hourly_rate;   // only with job_type "hourly"
  std::optional<amount_range> budget;        // only with job_type "fixed"
  std::optional<std::string> location;       // a full country name, "United States"
};

struct visitor_query {
  std::string user_query;  // empty: every posting
  search_filters filters;
  int page_size = max_visitor_page_size;
};

// Checks a query before any network call; config errors name the setting and the valid values.
result<void> validate(const visitor_query& query);

// Returns the JSON request body: the fixed visitor field set (never a gated field such as
// totalApplicants, premium or client history) with requestVariables sorted by recency, without
// highlighting. `offset` is clamped to [0, 4999] and `count` to [1, min(50, 5000 - offset)];
// the caller stops paging at max_visitor_results and records the rest as a gap.
std::string build_visitor_request(const visitor_query& query, int offset, int count);

// Parses one visitor response into a normalized page. Failures are classified as
// classify_http_status and classify_graphql_errors describe. A posting without id, ciphertext,
// title or both publishTime and createTime fails the whole page with bad_response and its JSON
// path, and so does a malformed field. Only a well-formed response gives a page, empty or not.
result<page> parse_visitor_page(int http_status, std::string_view content_type,
                                std::string_view body);

}  // namespace job_fetcher::upwork
