#include "aws/emf.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace job_fetcher::aws {
namespace {

run_metrics sample_metrics() {
  run_metrics metrics;
  metrics.feed = "python";
  metrics.status = "ok";
  metrics.postings_new = 12;
  metrics.postings_seen = 150;
  metrics.api_requests = 4;
  metrics.pages = 3;
  metrics.duration = std::chrono::milliseconds{2345};
  metrics.gap_estimated = 0;
  metrics.finished_at = *parse_timestamp("2025-06-15T18:59:18.224Z");
  metrics.run_id = "run-7";
  metrics.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
  return metrics;
}

TEST(emf, metadata_follows_the_specification) {
  nlohmann::json document = make_emf_document(sample_metrics());

  ASSERT_TRUE(document.contains("_aws"));
  const auto& aws = document["_aws"];
  EXPECT_EQ(aws["Timestamp"], 1750013958224);
  ASSERT_EQ(aws["CloudWatchMetrics"].size(), 1u);
  const auto& directive = aws["CloudWatchMetrics"][0];
  EXPECT_EQ(directive["Namespace"], "JobFetcher");
  EXPECT_EQ(directive["Dimensions"], nlohmann::json::parse(R"([["feed"]])"));
}

TEST(emf, every_metric_has_a_name_unit_and_value) {
  nlohmann::json document = make_emf_document(sample_metrics());
  const auto& metrics = document["_aws"]["CloudWatchMetrics"][0]["Metrics"];

  std::set<std::string> names;
  for (const auto& metric : metrics) {
    std::string name = metric["Name"];
    names.insert(name);
    std::string unit = metric["Unit"];
    EXPECT_EQ(unit, name == "DurationMs" ? "Milliseconds" : "Count") << name;
    ASSERT_TRUE(document.contains(name)) << name;
    EXPECT_TRUE(document[name].is_number()) << name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"PostingsNew", "PostingsSeen", "ApiRequests", "Pages",
                                          "DurationMs", "GapEstimated"}));
}

TEST(emf, values_and_properties_are_written) {
  nlohmann::json document = make_emf_document(sample_metrics());

  EXPECT_EQ(document["feed"], "python");
  EXPECT_EQ(document["PostingsNew"], 12);
  EXPECT_EQ(document["PostingsSeen"], 150);
  EXPECT_EQ(document["ApiRequests"], 4);
  EXPECT_EQ(document["Pages"], 3);
  EXPECT_EQ(document["DurationMs"], 2345);
  EXPECT_EQ(document["GapEstimated"], 0);
  EXPECT_EQ(document["status"], "ok");
  EXPECT_EQ(document["error_class"], "");
  EXPECT_EQ(document["run_id"], "run-7");
  EXPECT_EQ(document["request_id"], "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
}

TEST(emf, failed_run_names_its_error_class) {
  run_metrics metrics = sample_metrics();
  metrics.status = "failed";
  metrics.failure = error_class::rate_limited;

  nlohmann::json document = make_emf_document(metrics);
  EXPECT_EQ(document["status"], "failed");
  EXPECT_EQ(document["error_class"], "rate_limited");
}

TEST(emf, empty_ids_are_left_out_but_feed_stays) {
  run_metrics metrics = sample_metrics();
  metrics.feed.clear();
  metrics.run_id.clear();
  metrics.request_id.clear();

  nlohmann::json document = make_emf_document(metrics);
  EXPECT_FALSE(document.contains("run_id"));
  EXPECT_FALSE(document.contains("request_id"));
  ASSERT_TRUE(document.contains("feed"));
  EXPECT_EQ(document["feed"], "");
}

TEST(emf, document_is_one_line) {
  std::string line = make_emf_document(sample_metrics()).dump();
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_LT(line.size(), 256u * 1024u);
}

}  // namespace
}  // namespace job_fetcher::aws
