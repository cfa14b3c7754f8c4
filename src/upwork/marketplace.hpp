// The marketplace source: the official GraphQL API (marketplaceJobPostingsSearch) for an OAuth2
// app key with the "Read marketplace Job Postings" permission.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "upwork/posting.hpp"
#include "upwork/response.hpp"

namespace job_fetcher::upwork {

constexpr std::string_view marketplace_source_name = "marketplace";
constexpr int max_marketplace_page_size = 50;
constexpr std::string_view first_marketplace_cursor = "0";  // pagination_eq.after of page one

// Filters as marketPlaceJobFilter members; unset members are not sent.
struct marketplace_query {
  std::string search_expression;                // searchExpression_eq (partial Lucene syntax)
  std::optional<std::string> job_type;          // "hourly" | "fixed" -> jobType_eq HOURLY | FIXED
  std::optional<std::string> experience_level;  // "entry" | "intermediate" | "expert"
                                                // -> experienceLevel_eq ENTRY_LEVEL | ...
  std::optional<int> days_posted;               // daysPosted_eq, at least 1
  std::vector<std::string> locations;           // locations_any, client countries or cities
  int page_size = max_marketplace_page_size;    // pagination_eq.first
};

// Checks a query before any network call; config errors name the setting and the valid values.
result<void> validate(const marketplace_query& query);

// Returns the JSON request body, sorted by recency, for the page after `after_cursor` ("0" for
// the first page). With `inline_pagination` the filter, search type and sort are written into
// the query text and no variables are sent. The API has returned HTTP 500 "Exception occurred"
// for pagination_eq passed through variables, and the inlined form is the retry for that.
std::string build_marketplace_request(const marketplace_query& query,
                                      std::string_view after_cursor, bool inline_pagination);

// Parses one marketplace response into a normalized page with the same classification as the
// visitor source. A node without id, ciphertext, title or both publishedDateTime and
// createdDateTime, or with a malformed field, fails the whole page with bad_response and its
// JSON path ("$.data.marketplaceJobPostingsSearch.edges[3].node.ciphertext").
result<page> parse_marketplace_page(int http_status, std::string_view content_type,
                                    std::string_view body);

}  // namespace job_fetcher::upwork
