// CloudWatch Embedded Metric Format (EMF): one JSON log line per run, from which CloudWatch Logs
// extracts the metrics PostingsNew, PostingsSeen, ApiRequests, Pages, DurationMs and
// GapEstimated in namespace "JobFetcher" with the dimension `feed`.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace job_fetcher::aws {

inline constexpr std::string_view emf_namespace = "JobFetcher";

// The counters of one run, as recorded in its ledger row.
struct run_metrics {
  std::string feed;
  std::string status;                  // the ledger status, for example "ok" or "failed"
  std::optional<error_class> failure;  // written as the `error_class` property, "" when none
  std::int64_t postings_new = 0;
  std::int64_t postings_seen = 0;
  std::int64_t api_requests = 0;
  std::int64_t pages = 0;
  std::chrono::milliseconds duration{0};
  std::int64_t gap_estimated = 0;  // postings a gap is estimated to hold, 0 without a gap
  timestamp finished_at{};         // the metric timestamp
  std::string run_id;              // property for correlation, omitted when empty
  std::string request_id;          // Lambda request id, omitted when empty
};

// Builds the EMF document: the `_aws` metadata with Timestamp (epoch milliseconds) and one
// metric directive, the metric values, the `feed` dimension and the properties `status`,
// `error_class`, `run_id` and `request_id`.
nlohmann::json make_emf_document(const run_metrics& metrics);

// Writes the document as one line to the log stream (stdout on Lambda), where CloudWatch Logs
// picks it up; it bypasses the log level.
void write_emf(const run_metrics& metrics);

}  // namespace job_fetcher::aws
