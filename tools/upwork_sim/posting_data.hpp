// Postings of the data file and how the simulator renders them in Upwork's response shapes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace job_fetcher::upwork_sim {

// UTC instants with millisecond precision, the precision Upwork publishes.
using sim_time = std::chrono::sys_time<std::chrono::milliseconds>;

// One line of the data file (JSON Lines, newest posting first).
struct source_posting {
  std::string id;
  std::string ciphertext;
  std::string title;
  std::string description;
  std::vector<std::string> skills;
  std::string job_type;  // "HOURLY", "FIXED" or empty when unknown
  std::optional<std::string> hourly_min;
  std::optional<std::string> hourly_max;
  std::optional<std::string> fixed_amount;
  std::string currency;
  std::optional<std::string> contractor_tier;  // "EntryLevel", "IntermediateLevel", "ExpertLevel"
  std::optional<std::string> duration_label;
  std::optional<std::string> workload;
  std::optional<std::string> client_country;
  std::string search_text;  // lower-case title, description and skills, for query matching
  std::string raw_line;     // the line as read from the file
};

// Reads every posting of a JSON Lines file. Throws std::runtime_error naming the file and line
// when the file cannot be read or a line lacks id, ciphertext, title or description.
std::vector<source_posting> load_postings(const std::string& path);

// The times Upwork attaches to one publication of a posting.
struct publication_times {
  sim_time publish_time;
  sim_time create_time;
};

// Formats as the visitor API does: "2025-06-15T18:59:18.224Z".
std::string format_visitor_time(sim_time at);

// Formats as the marketplace API does: "2025-10-16T06:06:47+0000" (no fraction).
std::string format_marketplace_time(sim_time at);

// Lower-cases ASCII letters and leaves every other byte as it is.
std::string ascii_lower(std::string_view text);

// Renders one `results[]` entry of visitorJobSearchV1. With highlight terms (lower-case), every
// case-insensitive occurrence in title, description and skills is wrapped as H^text^H.
std::string render_visitor_result(const source_posting& posting, const publication_times& times,
                                  const std::vector<std::string>& highlight_terms);

// Renders one `edges[].node` of marketplaceJobPostingsSearch.
std::string render_marketplace_node(const source_posting& posting,
                                    const publication_times& times);

}  // namespace job_fetcher::upwork_sim
