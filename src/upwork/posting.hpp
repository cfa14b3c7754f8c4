// The canonical posting every source maps onto, and the page a source returns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace job_fetcher::upwork {

enum class source_kind { visitor, marketplace };

// One job posting after normalization. Decimals are exact text with two fraction digits
// ("12.50"), never floating point.
struct posting {
  std::string id;          // 19-digit job id
  std::string ciphertext;  // "~02…"
  std::string link;        // https://www.upwork.com/jobs/<ciphertext>
  std::string title;
  std::string description;
  std::vector<std::string> skills;        // API order, duplicates removed
  std::optional<std::string> job_type;    // "hourly" | "fixed"
  std::optional<std::string> hourly_min;  // decimal text
  std::optional<std::string> hourly_max;
  std::optional<std::string> fixed_budget;
  std::string currency = "USD";
  std::optional<std::string> contractor_tier;  // "entry" | "intermediate" | "expert"
  std::optional<std::string> duration_label;
  std::optional<std::string> workload;
  std::optional<std::string> client_country;
  timestamp published_at{};
  std::optional<timestamp> created_at;
  std::string source;        // "visitor" | "marketplace"
  std::string content_hash;  // hex SHA-256 over the normalized content, see content_hash()

  friend bool operator==(const posting&, const posting&) = default;
};

// One page of search results as the source returned it, already normalized.
struct page {
  std::vector<posting> postings;  // newest first, as served
  std::int64_t total = 0;         // the source's total count at the time of the response
  std::int64_t offset = 0;        // visitor offset of the first posting
  std::string end_cursor;         // marketplace cursor for the next page
  bool has_next_page = true;
};

}  // namespace job_fetcher::upwork
