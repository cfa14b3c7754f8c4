#include "upwork/marketplace.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "doubles/fixtures/posting_fixtures.hpp"

namespace job_fetcher::upwork {
namespace {

using nlohmann::json;

const std::vector<json>& all_records() {
  static const std::vector<json> records = fixtures::load_postings(fixtures::postings_path());
  return records;
}

const timestamp newest = *parse_timestamp("2025-10-16T06:06:47.512Z");

std::vector<timestamp> publish_times(std::size_t count) {
  return fixtures::spaced_publish_times(count, newest, std::chrono::milliseconds{14'417});
}

const std::string edges_path = "$.data.marketplaceJobPostingsSearch.edges";

result<page> parse_edited(std::size_t record_index, const std::function<void(json&)>& edit) {
  json body = json::parse(fixtures::render_marketplace_page(
      std::span(all_records()).subspan(record_index, 1), 1, publish_times(1), 0, false));
  edit(body);
  return parse_marketplace_page(200, "application/json", body.dump());
}

json& first_node(json& body) { return body["data"]["marketplaceJobPostingsSearch"]["edges"][0]["node"]; }

TEST(marketplace_page, parses_every_real_posting) {
  const auto& records = all_records();
  auto times = publish_times(records.size());
  std::size_t compared = 0;
  for (std::size_t offset = 0; offset < records.size(); offset += 50) {
    std::size_t count = std::min<std::size_t>(50, records.size() - offset);
    bool more = offset + count < records.size();
    std::string body = fixtures::render_marketplace_page(
        std::span(records).subspan(offset, count), static_cast<std::int64_t>(records.size()),
        std::span(times).subspan(offset, count), static_cast<std::int64_t>(offset), more);
    auto parsed = parse_marketplace_page(200, "application/json", body);
    ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
    ASSERT_EQ(parsed->postings.size(), count);
    EXPECT_EQ(parsed->total, static_cast<std::int64_t>(records.size()));
    EXPECT_EQ(parsed->has_next_page, more);
    EXPECT_EQ(parsed->end_cursor, std::to_string(offset + count));
    for (std::size_t i = 0; i < count; ++i) {
      posting expected =
          fixtures::expected_posting(records[offset + i], "marketplace", times[offset + i]);
      ASSERT_EQ(parsed->postings[i], expected) << "record " << offset + i;
      ++compared;
    }
  }
  EXPECT_EQ(compared, records.size());
}

TEST(marketplace_page, maps_node_fields) {
  auto parsed = parse_edited(1, [](json&) {});
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  const posting& job = parsed->postings.at(0);
  EXPECT_EQ(job.source, "marketplace");
  EXPECT_EQ(job.job_type, "hourly");
  EXPECT_EQ(job.hourly_min, "22.00");
  EXPECT_EQ(job.hourly_max, "30.00");
  EXPECT_EQ(job.fixed_budget, std::nullopt);  // "0.0" on an hourly job
  EXPECT_EQ(job.published_at, *parse_timestamp("2025-10-16T06:06:47Z"));
  EXPECT_EQ(job.client_country, all_records()[1]["client_country"].get<std::string>());
}

TEST(marketplace_page, parses_offsets_with_and_without_colon) {
  for (const char* text : {"2025-10-16T06:06:47+0000", "2025-10-16T06:06:47+00:00",
                           "2025-10-16T08:06:47+0200", "2025-10-16T06:06:47Z"}) {
    auto parsed = parse_edited(0, [&](json& body) { first_node(body)["publishedDateTime"] = text; });
    ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
    EXPECT_EQ(parsed->postings[0].published_at, *parse_timestamp("2025-10-16T06:06:47Z")) << text;
  }
}

TEST(marketplace_page, reads_money_currency_and_tier) {
  auto parsed = parse_edited(0, [](json& body) {
    first_node(body)["amount"] = {{"rawValue", "1000"}, {"currency", "eur"}, {"displayValue", "x"}};
    first_node(body)["experienceLevel"] = "ENTRY_LEVEL";
  });
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  EXPECT_EQ(parsed->postings[0].fixed_budget, "1000.00");
  EXPECT_EQ(parsed->postings[0].currency, "EUR");
  EXPECT_EQ(parsed->postings[0].contractor_tier, "entry");
}

TEST(marketplace_page, skill_name_is_fallback_for_pretty_name) {
  auto parsed = parse_edited(0, [](json& body) {
    first_node(body)["skills"] = {{{"name", "python"}, {"prettyName", "Python"}},
                                  {{"name", "sql"}, {"prettyName", nullptr}},
                                  {{"name", "python"}, {"prettyName", "Python"}}};
  });
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  EXPECT_EQ(parsed->postings[0].skills, (std::vector<std::string>{"Python", "sql"}));
}

TEST(marketplace_page, infers_job_type_without_contract_terms) {
  auto fixed = parse_edited(0, [](json& body) { first_node(body).erase("job"); });
  ASSERT_TRUE(fixed.ok()) << fixed.err().describe();
  EXPECT_EQ(fixed->postings[0].job_type, "fixed");
  auto hourly = parse_edited(1, [](json& body) { first_node(body)["job"] = nullptr; });
  ASSERT_TRUE(hourly.ok()) << hourly.err().describe();
  EXPECT_EQ(hourly->postings[0].job_type, "hourly");
  EXPECT_EQ(hourly->postings[0].fixed_budget, std::nullopt);
}

TEST(marketplace_page, reports_json_path_of_bad_nodes) {
  struct path_case {
    const char* name;
    std::function<void(json&)> edit;
    std::string path;
  };
  std::vector<path_case> cases = {
      {"id", [](json& b) { first_node(b).erase("id"); }, edges_path + "[0].node.id"},
      {"ciphertext", [](json& b) { first_node(b)["ciphertext"] = nullptr; },
       edges_path + "[0].node.ciphertext"},
      {"title", [](json& b) { first_node(b).erase("title"); }, edges_path + "[0].node.title"},
      {"times",
       [](json& b) {
         first_node(b).erase("publishedDateTime");
         first_node(b).erase("createdDateTime");
       },
       edges_path + "[0].node.publishedDateTime"},
      {"raw value", [](json& b) { first_node(b)["amount"]["rawValue"] = "1,000"; },
       edges_path + "[0].node.amount.rawValue"},
      {"money currency", [](json& b) { first_node(b)["amount"]["currency"] = "dollars"; },
       edges_path + "[0].node.amount.currency"},
      {"country type", [](json& b) { first_node(b)["client"]["location"]["country"] = 1; },
       edges_path + "[0].node.client.location.country"},
      {"node", [](json& b) { b["data"]["marketplaceJobPostingsSearch"]["edges"][0].erase("node"); },
       edges_path + "[0].node"},
      {"edges", [](json& b) { b["data"]["marketplaceJobPostingsSearch"].erase("edges"); },
       edges_path},
      {"page info",
       [](json& b) { b["data"]["marketplaceJobPostingsSearch"]["pageInfo"].erase("hasNextPage"); },
       "$.data.marketplaceJobPostingsSearch.pageInfo.hasNextPage"},
      {"total", [](json& b) { b["data"]["marketplaceJobPostingsSearch"].erase("totalCount"); },
       "$.data.marketplaceJobPostingsSearch.totalCount"},
      {"search", [](json& b) { b["data"] = json::object(); },
       "$.data.marketplaceJobPostingsSearch"},
  };
  for (const auto& test_case : cases) {
    auto parsed = parse_edited(0, test_case.edit);
    ASSERT_FALSE(parsed.ok()) << test_case.name;
    EXPECT_EQ(parsed.err().kind, error_class::bad_response) << test_case.name;
    EXPECT_EQ(parsed.err().json_path, test_case.path) << test_case.name;
  }
}

TEST(marketplace_page, scope_error_is_scope) {
  auto parsed = parse_marketplace_page(
      200, "application/json",
      fixtures::render_graphql_error("The client or authentication token doesn't have enough "
                                     "oauth2 permissions/scopes to access: [JobPosting.id]",
                                     "ExecutionAborted", "marketplaceJobPostingsSearch"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.err().kind, error_class::scope);
  EXPECT_NE(parsed.err().message.find("Read marketplace Job Postings"), std::string::npos);
  EXPECT_NE(parsed.err().message.find("JobPosting.id"), std::string::npos);
}

TEST(marketplace_page, exception_occurred_500_is_transient) {
  auto parsed = parse_marketplace_page(500, "application/json",
                                       R"({"errors":[{"message":"Exception occurred"}]})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.err().kind, error_class::transient);
  EXPECT_EQ(parsed.err().http_status, 500);
  EXPECT_NE(parsed.err().message.find("Exception occurred"), std::string::npos);
}

TEST(marketplace_page, empty_edges_are_a_page) {
  auto parsed = parse_marketplace_page(
      200, "application/json", fixtures::render_marketplace_page({}, 0, {}, 0, false));
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  EXPECT_TRUE(parsed->postings.empty());
  EXPECT_FALSE(parsed->has_next_page);
  EXPECT_EQ(parsed->end_cursor, "");
}

TEST(marketplace_request, sends_filter_through_variables) {
  marketplace_query query;
  query.search_expression = "python AND \"data\"";
  query.job_type = "hourly";
  query.experience_level = "expert";
  query.days_posted = 1;
  query.locations = {"United States"};
  query.page_size = 20;
  ASSERT_TRUE(validate(query).ok());
  json body = json::parse(build_marketplace_request(query, "0", false));
  const json& variables = body.at("variables");
  const json& filter = variables.at("marketPlaceJobFilter");
  EXPECT_EQ(filter.at("searchExpression_eq"), "python AND \"data\"");
  EXPECT_EQ(filter.at("jobType_eq"), "HOURLY");
  EXPECT_EQ(filter.at("experienceLevel_eq"), "EXPERT");
  EXPECT_EQ(filter.at("daysPosted_eq"), 1);
  EXPECT_EQ(filter.at("locations_any"), json::array({"United States"}));
  EXPECT_EQ(filter.at("pagination_eq"), (json{{"first", 20}, {"after", "0"}}));
  EXPECT_EQ(variables.at("searchType"), "USER_JOBS_SEARCH");
  EXPECT_EQ(variables.at("sortAttributes"), json::parse(R"([{"field":"RECENCY"}])"));
  std::string text = body.at("query").get<std::string>();
  EXPECT_NE(text.find("marketPlaceJobFilter: $marketPlaceJobFilter"), std::string::npos);
  EXPECT_NE(text.find("pageInfo { endCursor hasNextPage }"), std::string::npos);
}

TEST(marketplace_request, inlines_filter_for_the_500_workaround) {
  marketplace_query query;
  query.search_expression = "c++ \"qt\"\n";
  query.job_type = "fixed";
  json body = json::parse(build_marketplace_request(query, "150", true));
  EXPECT_TRUE(body.at("variables").empty());
  std::string text = body.at("query").get<std::string>();
  EXPECT_NE(text.find(R"(searchExpression_eq: "c++ \"qt\"\n")"), std::string::npos) << text;
  EXPECT_NE(text.find("jobType_eq: FIXED"), std::string::npos);
  EXPECT_NE(text.find(R"(pagination_eq: {first: 50, after: "150"})"), std::string::npos);
  EXPECT_NE(text.find("searchType: USER_JOBS_SEARCH"), std::string::npos);
  EXPECT_NE(text.find("sortAttributes: [{field: RECENCY}]"), std::string::npos);
  EXPECT_EQ(text.find('$'), std::string::npos);
}

TEST(marketplace_request, first_page_cursor_is_zero) {
  json body = json::parse(build_marketplace_request({}, "", false));
  EXPECT_EQ(body["variables"]["marketPlaceJobFilter"]["pagination_eq"]["after"], "0");
  EXPECT_FALSE(body["variables"]["marketPlaceJobFilter"].contains("searchExpression_eq"));
}

TEST(marketplace_query_validation, rejects_invalid_settings) {
  struct validation_case {
    const char* name;
    std::function<void(marketplace_query&)> edit;
    const char* setting;
  };
  std::vector<validation_case> cases = {
      {"page size", [](marketplace_query& q) { q.page_size = 51; }, "page_size"},
      {"utf8", [](marketplace_query& q) { q.search_expression = "\xC3"; }, "search_expression"},
      {"job type", [](marketplace_query& q) { q.job_type = "FIXED"; }, "job_type"},
      {"level", [](marketplace_query& q) { q.experience_level = "EXPERT"; }, "experience_level"},
      {"days", [](marketplace_query& q) { q.days_posted = 0; }, "days_posted"},
      {"location", [](marketplace_query& q) { q.locations = {""}; }, "locations"},
  };
  for (const auto& test_case : cases) {
    marketplace_query query;
    test_case.edit(query);
    auto checked = validate(query);
    ASSERT_FALSE(checked.ok()) << test_case.name;
    EXPECT_EQ(checked.err().kind, error_class::config) << test_case.name;
    EXPECT_NE(checked.err().message.find(test_case.setting), std::string::npos) << test_case.name;
  }
  EXPECT_TRUE(validate(marketplace_query{}).ok());
}

}  // namespace
}  // namespace job_fetcher::upwork
