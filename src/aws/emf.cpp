#include "aws/emf.hpp"

#include <array>
#include <utility>

#include "core/log.hpp"

namespace job_fetcher::aws {

namespace {

struct metric_definition {
  std::string_view name;
  std::string_view unit;  // a CloudWatch StandardUnit
};

constexpr std::array<metric_definition, 6> metric_definitions{{
    {"PostingsNew", "Count"},
    {"PostingsSeen", "Count"},
    {"ApiRequests", "Count"},
    {"Pages", "Count"},
    {"DurationMs", "Milliseconds"},
    {"GapEstimated", "Count"},
}};

}  // namespace

nlohmann::json make_emf_document(const run_metrics& metrics) {
  nlohmann::json directive_metrics = nlohmann::json::array();
  for (const auto& definition : metric_definitions) {
    directive_metrics.push_back({{"Name", definition.name}, {"Unit", definition.unit}});
  }
  nlohmann::json directive = {
      {"Namespace", emf_namespace},
      {"Dimensions", nlohmann::json::array({nlohmann::json::array({"feed"})})},
      {"Metrics", std::move(directive_metrics)},
  };

  nlohmann::json document = nlohmann::json::object();
  document["_aws"] = {
      {"Timestamp", metrics.finished_at.time_since_epoch().count()},
      {"CloudWatchMetrics", nlohmann::json::array({std::move(directive)})},
  };

  // Every dimension a directive names must be a string member of the root, so an empty feed
  // name is still written rather than left out.
  document["feed"] = metrics.feed;
  document["PostingsNew"] = metrics.postings_new;
  document["PostingsSeen"] = metrics.postings_seen;
  document["ApiRequests"] = metrics.api_requests;
  document["Pages"] = metrics.pages;
  document["DurationMs"] = metrics.duration.count();
  document["GapEstimated"] = metrics.gap_estimated;

  document["status"] = metrics.status;
  document["error_class"] = metrics.failure ? std::string(to_string(*metrics.failure)) : "";
  if (!metrics.run_id.empty()) document["run_id"] = metrics.run_id;
  if (!metrics.request_id.empty()) document["request_id"] = metrics.request_id;
  return document;
}

void write_emf(const run_metrics& metrics) { log::write_raw_json(make_emf_document(metrics)); }

}  // namespace job_fetcher::aws
