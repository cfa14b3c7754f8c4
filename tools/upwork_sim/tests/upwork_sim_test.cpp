// Drives a real upwork-sim process over loopback HTTP, as the fetcher will.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "doubles/sim/sim_process.hpp"

namespace {

using job_fetcher::doubles::sim_process;
using nlohmann::json;

const std::string visitor_query = R"(
  query VisitorJobSearch($requestVariables: VisitorJobSearchV1Request!) {
    search {
      universalSearchNuxt {
        visitorJobSearchV1(request: $requestVariables) {
          paging { total offset count }
          results {
            id
            title
            description
            ontologySkills { prefLabel }
            jobTile {
              job {
                id
                ciphertext: cipherText
                jobType
                hourlyBudgetMin
                hourlyBudgetMax
                fixedPriceAmount { amount isoCurrencyCode }
                contractorTier
                publishTime
                createTime
                hourlyEngagementDuration { label weeks }
                fixedPriceEngagementDuration { label weeks }
              }
            }
          }
        }
      }
    }
  })";

json request_variables(int offset, int count) {
  return {{"sort", "recency"}, {"highlight", false}, {"paging", {{"offset", offset}, {"count", count}}}};
}

httplib::Result post_visitor(sim_process& sim, const std::string& token, const json& request,
                             const std::string& query = visitor_query) {
  httplib::Client client("127.0.0.1", sim.port());
  client.set_read_timeout(std::chrono::seconds{30});
  httplib::Headers headers{{"Authorization", "Bearer " + token}};
  json body{{"query", query}, {"variables", {{"requestVariables", request}}}};
  return client.Post("/api/graphql/v1?alias=visitorJobSearch", headers, body.dump(),
                     "application/json");
}

json visitor_search(const httplib::Result& result) {
  return json::parse(result->body)["data"]["search"]["universalSearchNuxt"]["visitorJobSearchV1"];
}

std::vector<std::string> result_ids(const json& search) {
  std::vector<std::string> ids;
  for (const auto& result : search["results"]) {
    ids.push_back(result["id"].get<std::string>());
  }
  return ids;
}

std::string marketplace_query(int first, const std::string& after,
                              const std::string& search_expression = "") {
  std::string filter;
  if (!search_expression.empty()) {
    filter = "searchExpression_eq: " + json(search_expression).dump() + ", ";
  }
  return "query { marketplaceJobPostingsSearch(marketPlaceJobFilter: {" + filter +
         "pagination_eq: {first: " + std::to_string(first) + ", after: \"" + after +
         "\"}}, searchType: USER_JOBS_SEARCH, sortAttributes: [{field: RECENCY}]) {"
         " totalCount edges { cursor node { id title publishedDateTime } }"
         " pageInfo { endCursor hasNextPage } } }";
}

const std::string marketplace_query_with_variables =
    "query Search($filter: MarketplaceJobPostingsSearchFilter) {"
    " marketplaceJobPostingsSearch(marketPlaceJobFilter: $filter, searchType: USER_JOBS_SEARCH,"
    " sortAttributes: [{field: RECENCY}]) { totalCount edges { cursor node { id } }"
    " pageInfo { endCursor hasNextPage } } }";

httplib::Result post_marketplace(sim_process& sim, const std::string& token,
                                 const std::string& query, const json& variables = json::object()) {
  httplib::Client client("127.0.0.1", sim.port());
  client.set_read_timeout(std::chrono::seconds{30});
  httplib::Headers headers{{"Authorization", "Bearer " + token}};
  json body{{"query", query}, {"variables", variables}};
  return client.Post("/graphql", headers, body.dump(), "application/json");
}

json marketplace_search(const httplib::Result& result) {
  return json::parse(result->body)["data"]["marketplaceJobPostingsSearch"];
}

std::vector<std::string> edge_ids(const json& search) {
  std::vector<std::string> ids;
  for (const auto& edge : search["edges"]) {
    ids.push_back(edge["node"]["id"].get<std::string>());
  }
  return ids;
}

httplib::Result post_token(sim_process& sim, const httplib::Params& form) {
  httplib::Client client("127.0.0.1", sim.port());
  return client.Post("/api/v3/oauth2/token", form);
}

std::string access_token(sim_process& sim, const std::string& client_id = "sim-client",
                         const std::string& secret = "sim-secret") {
  auto result = post_token(sim, {{"grant_type", "client_credentials"},
                                 {"client_id", client_id},
                                 {"client_secret", secret}});
  if (!result || result->status != 200) {
    throw std::runtime_error("token request failed");
  }
  return json::parse(result->body)["access_token"].get<std::string>();
}

std::string first_error_message(const httplib::Result& result) {
  return json::parse(result->body)["errors"][0]["message"].get<std::string>();
}

std::vector<std::string> slice(const std::vector<std::string>& ids, std::size_t from,
                               std::size_t count) {
  return {ids.begin() + static_cast<std::ptrdiff_t>(from),
          ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), from + count))};
}

// The ids of `original` that are still in `current`, in their original order.
std::vector<std::string> surviving(const std::vector<std::string>& original,
                                   const std::vector<std::string>& current) {
  const std::set<std::string> present(current.begin(), current.end());
  std::vector<std::string> kept;
  for (const auto& id : original) {
    if (present.count(id) > 0) {
      kept.push_back(id);
    }
  }
  return kept;
}

// --- visitor search ---------------------------------------------------------------------------

TEST(visitor_search, first_page_is_newest_with_total) {
  sim_process sim;
  const auto ids = sim.published_ids();

  auto result = post_visitor(sim, sim.visitor_token(), request_variables(0, 50));

  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200);
  const auto search = visitor_search(result);
  EXPECT_EQ(search["paging"]["total"], 2781 - 300);
  EXPECT_EQ(search["paging"]["offset"], 0);
  EXPECT_EQ(search["paging"]["count"], 50);
  EXPECT_EQ(result_ids(search), slice(ids, 0, 50));
}

TEST(visitor_search, offset_continues_previous_page) {
  sim_process sim;
  const auto ids = sim.published_ids();

  auto result = post_visitor(sim, sim.visitor_token(), request_variables(50, 50));

  ASSERT_TRUE(result);
  EXPECT_EQ(result_ids(visitor_search(result)), slice(ids, 50, 50));
}

TEST(visitor_search, times_are_strictly_newest_first) {
  sim_process sim;
  const std::regex visitor_time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");

  auto result = post_visitor(sim, sim.visitor_token(), request_variables(0, 50));

  ASSERT_TRUE(result);
  std::string previous;
  // The document is kept in a variable: a range-for over a member of a temporary would read it
  // after the temporary is destroyed.
  const json search = visitor_search(result);
  for (const auto& entry : search["results"]) {
    const auto& job = entry["jobTile"]["job"];
    const auto publish = job["publishTime"].get<std::string>();
    const auto create = job["createTime"].get<std::string>();
    EXPECT_TRUE(std::regex_match(publish, visitor_time)) << publish;
    EXPECT_LT(create, publish);
    if (!previous.empty()) {
      EXPECT_LT(publish, previous);
    }
    previous = publish;
  }
}

TEST(visitor_search, result_carries_job_tile_fields) {
  sim_process sim;
  auto result = post_visitor(sim, sim.visitor_token(), request_variables(0, 50));
  ASSERT_TRUE(result);

  const json search = visitor_search(result);
  for (const auto& entry : search["results"]) {
    const auto id = entry["id"].get<std::string>();
    const auto record = sim.posting(id)["record"];
    const auto& job = entry["jobTile"]["job"];
    EXPECT_EQ(job["ciphertext"], record["ciphertext"]);
    EXPECT_EQ(entry["title"], record["title"]);
    EXPECT_EQ(entry["description"], record["description"]);
    EXPECT_EQ(job["jobType"], record["job_type"]);
    EXPECT_EQ(job["hourlyBudgetMin"], record["hourly_min"]);
    EXPECT_EQ(job["hourlyBudgetMax"], record["hourly_max"]);
    EXPECT_EQ(job["contractorTier"], record["contractor_tier"]);
    EXPECT_EQ(entry["ontologySkills"].size(), record["skills"].size());
    if (record["job_type"] == "FIXED") {
      EXPECT_EQ(job["fixedPriceAmount"]["amount"], record["fixed_amount"]);
    }
  }
}

TEST(visitor_search, unknown_token_gets_401) {
  sim_process sim;

  auto result = post_visitor(sim, "oauth2v2_00000000000000000000000000000000",
                             request_variables(0, 10));

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
}

TEST(visitor_search, expired_tokens_get_401_until_renewed) {
  sim_process sim;
  const auto token = sim.visitor_token();

  sim.expire_tokens();
  auto expired = post_visitor(sim, token, request_variables(0, 10));
  auto fresh = post_visitor(sim, sim.visitor_token(), request_variables(0, 10));

  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, 401);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->status, 200);
}

TEST(visitor_search, count_above_50_is_graphql_error) {
  sim_process sim;

  auto result = post_visitor(sim, sim.visitor_token(), request_variables(0, 80));

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  const auto body = json::parse(result->body);
  EXPECT_TRUE(body["data"].is_null());
  EXPECT_EQ(body["errors"][0]["extensions"]["classification"], "ValidationError");
  EXPECT_NE(first_error_message(result).find("50"), std::string::npos);
}

TEST(visitor_search, offset_past_5000_is_graphql_error) {
  sim_process sim;

  auto result = post_visitor(sim, sim.visitor_token(), request_variables(4990, 20));

  ASSERT_TRUE(result);
  const auto body = json::parse(result->body);
  EXPECT_TRUE(body["data"].is_null());
  EXPECT_NE(first_error_message(result).find("5000"), std::string::npos);
}

TEST(visitor_search, gated_field_is_scope_error) {
  sim_process sim;
  std::string query = visitor_query;
  query.replace(query.find("contractorTier"), 0, "totalApplicants\n");

  auto result = post_visitor(sim, sim.visitor_token(), request_variables(0, 10), query);

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  const auto body = json::parse(result->body);
  EXPECT_TRUE(body["data"].is_null());
  EXPECT_EQ(body["errors"][0]["extensions"]["classification"], "ExecutionAborted");
  EXPECT_NE(first_error_message(result).find("doesn't have enough oauth2 permissions/scopes"),
            std::string::npos);
  EXPECT_NE(first_error_message(result).find("totalApplicants"), std::string::npos);
}

TEST(visitor_search, user_query_filters_and_highlights) {
  sim_process sim;
  auto request = request_variables(0, 50);
  request["userQuery"] = "python";
  request["highlight"] = true;

  auto result = post_visitor(sim, sim.visitor_token(), request);

  ASSERT_TRUE(result);
  const auto search = visitor_search(result);
  EXPECT_GT(search["paging"]["total"].get<int>(), 0);
  EXPECT_LT(search["paging"]["total"].get<int>(), 2481);
  for (const auto& entry : search["results"]) {
    EXPECT_NE(entry.dump().find("H^"), std::string::npos) << entry["id"];
    std::string lowered = entry.dump();
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), ::tolower);
    EXPECT_NE(lowered.find("h^python^h"), std::string::npos) << entry["id"];
  }
}

TEST(visitor_search, job_type_and_tier_filters_apply) {
  sim_process sim;
  auto request = request_variables(0, 50);
  request["jobType"] = json::array({"fixed"});
  request["contractorTier"] = json::array({"ExpertLevel"});

  auto result = post_visitor(sim, sim.visitor_token(), request);

  ASSERT_TRUE(result);
  const auto search = visitor_search(result);
  EXPECT_GT(search["results"].size(), 0u);
  for (const auto& entry : search["results"]) {
    EXPECT_EQ(entry["jobTile"]["job"]["jobType"], "FIXED");
    EXPECT_EQ(entry["jobTile"]["job"]["contractorTier"], "ExpertLevel");
  }
}

TEST(visitor_search, inline_arguments_work_like_variables) {
  sim_process sim;
  const auto ids = sim.published_ids();
  const std::string query =
      "query { search { universalSearchNuxt { visitorJobSearchV1(request: {sort: \"recency\", "
      "highlight: false, paging: {offset: 3, count: 2}}) { paging { total offset count } "
      "results { id } } } } }";

  auto result = post_visitor(sim, sim.visitor_token(), json::object(), query);

  ASSERT_TRUE(result);
  EXPECT_EQ(result_ids(visitor_search(result)), slice(ids, 3, 2));
}

TEST(visitor_search, compresses_with_gzip_never_brotli) {
  sim_process sim;
  const auto token = sim.visitor_token();
  httplib::Client client("127.0.0.1", sim.port());
  const std::string body =
      json{{"query", visitor_query}, {"variables", {{"requestVariables", request_variables(0, 50)}}}}
          .dump();

  auto gzip = client.Post("/api/graphql/v1",
                          {{"Authorization", "Bearer " + token}, {"Accept-Encoding", "gzip, br"}},
                          body, "application/json");
  auto brotli = client.Post("/api/graphql/v1",
                            {{"Authorization", "Bearer " + token}, {"Accept-Encoding", "br"}},
                            body, "application/json");

  ASSERT_TRUE(gzip);
  EXPECT_EQ(gzip->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(visitor_search(gzip)["results"].size(), 50u);
  ASSERT_TRUE(brotli);
  EXPECT_FALSE(brotli->has_header("Content-Encoding"));
  EXPECT_EQ(visitor_search(brotli)["results"].size(), 50u);
}

// --- control endpoints ------------------------------------------------------------------------

TEST(sim_control, published_option_sets_pool_size) {
  sim_process sim({"--published", "100"});

  const auto stats = sim.stats();

  EXPECT_EQ(stats.published, 100u);
  EXPECT_EQ(stats.pool, 2681u);
}

TEST(sim_control, publish_adds_pool_postings_at_top) {
  sim_process sim;
  const auto before = sim.published_ids();

  EXPECT_EQ(sim.publish(5), 5u);

  const auto after = sim.published_ids();
  const auto stats = sim.stats();
  EXPECT_EQ(stats.published, 2486u);
  EXPECT_EQ(stats.pool, 295u);
  EXPECT_EQ(slice(after, 5, before.size()), before);
  const std::set<std::string> old_ids(before.begin(), before.end());
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(old_ids.count(after[i]), 0u) << after[i];
  }
}

TEST(sim_control, publish_stops_when_pool_is_empty) {
  sim_process sim({"--published", "2779"});

  EXPECT_EQ(sim.publish(5), 2u);
  EXPECT_EQ(sim.stats().pool, 0u);
}

TEST(sim_control, renew_moves_postings_below_top_to_top) {
  sim_process sim;
  const auto before = sim.published_ids();

  EXPECT_EQ(sim.renew(3), 3u);

  const auto after = sim.published_ids();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < 3; ++i) {
    const auto old_position = std::find(before.begin(), before.end(), after[i]) - before.begin();
    EXPECT_GT(old_position, 0) << after[i];
  }
  EXPECT_EQ(after[3], before[0]);
  const auto renewed_time = sim.posting(after[0])["publish_time"].get<std::string>();
  const auto old_top_time = sim.posting(before[0])["publish_time"].get<std::string>();
  EXPECT_GT(renewed_time, old_top_time);
}

TEST(sim_control, delete_removes_postings) {
  sim_process sim;
  const auto before = sim.published_ids();

  EXPECT_EQ(sim.remove(4), 4u);

  const auto after = sim.published_ids();
  EXPECT_EQ(after.size(), before.size() - 4);
  EXPECT_EQ(surviving(before, after), after);
}

TEST(sim_control, same_seed_gives_same_picks) {
  sim_process first({"--seed", "42"});
  sim_process second({"--seed", "42"});

  first.renew(10);
  second.renew(10);
  first.remove(10);
  second.remove(10);

  EXPECT_EQ(first.published_ids(), second.published_ids());
}

TEST(sim_control, stats_count_requests_by_endpoint) {
  sim_process sim;
  const auto token = sim.visitor_token();
  post_visitor(sim, token, request_variables(0, 1));
  post_visitor(sim, token, request_variables(0, 1));
  const auto access = access_token(sim);
  post_marketplace(sim, access, marketplace_query(1, "0"));

  const auto stats = sim.stats();

  EXPECT_EQ(stats.home_requests, 1u);
  EXPECT_EQ(stats.visitor_requests, 2u);
  EXPECT_EQ(stats.token_requests, 1u);
  EXPECT_EQ(stats.marketplace_requests, 1u);
  sim.reset_stats();
  EXPECT_EQ(sim.stats().visitor_requests, 0u);
}

TEST(sim_control, posting_returns_source_record_and_times) {
  sim_process sim;
  const auto top = sim.published_ids().front();

  const auto posting = sim.posting(top);

  EXPECT_EQ(posting["record"]["id"], top);
  EXPECT_TRUE(posting["publish_time"].is_string());
  EXPECT_TRUE(sim.posting("1").is_null());
}

TEST(sim_control, rejects_unknown_fault_kind) {
  sim_process sim;

  EXPECT_THROW(sim.set_faults(json::array({{{"kind", "meteor"}}})), std::runtime_error);
}

// --- faults -----------------------------------------------------------------------------------

TEST(sim_faults, status_429_carries_retry_after) {
  sim_process sim;
  const auto token = sim.visitor_token();
  sim.set_faults(json::array({{{"status", 429}, {"retry_after", 7}}}));

  auto limited = post_visitor(sim, token, request_variables(0, 1));
  auto next = post_visitor(sim, token, request_variables(0, 1));

  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "7");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

TEST(sim_faults, cloudflare_is_403_challenge_page) {
  sim_process sim;
  const auto token = sim.visitor_token();
  sim.set_faults(json::array({{{"kind", "cloudflare"}}}));

  auto result = post_visitor(sim, token, request_variables(0, 1));

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 403);
  EXPECT_EQ(result->get_header_value("Content-Type").rfind("text/html", 0), 0u);
  EXPECT_NE(result->body.find("<title>Just a moment...</title>"), std::string::npos);
  EXPECT_NE(result->body.find("cf-"), std::string::npos);
  EXPECT_TRUE(result->has_header("CF-RAY"));
  EXPECT_EQ(result->get_header_value("Server"), "cloudflare");
}

TEST(sim_faults, truncate_cuts_body_short) {
  sim_process sim;
  const auto token = sim.visitor_token();
  sim.set_faults(json::array({{{"kind", "truncate"}}}));

  auto result = post_visitor(sim, token, request_variables(0, 10));

  EXPECT_FALSE(result);
  EXPECT_EQ(result.error(), httplib::Error::Read);
}

TEST(sim_faults, reset_closes_without_response) {
  sim_process sim;
  const auto token = sim.visitor_token();
  sim.set_faults(json::array({{{"kind", "reset"}}}));

  auto result = post_visitor(sim, token, request_variables(0, 10));
  auto next = post_visitor(sim, token, request_variables(0, 10));

  EXPECT_FALSE(result);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

TEST(sim_faults, graphql_error_is_200_with_errors) {
  sim_process sim;
  const auto token = sim.visitor_token();
  sim.set_faults(json::array({{{"kind", "graphql_error"}, {"message", "Execution timed out"}}}));

  auto result = post_visitor(sim, token, request_variables(0, 10));

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_TRUE(json::parse(result->body)["data"].is_null());
  EXPECT_EQ(first_error_message(result), "Execution timed out");
}

TEST(sim_faults, statuses_apply_in_order_one_per_request) {
  sim_process sim;
  const auto token = sim.visitor_token();
  sim.set_faults(json::array({{{"status", 500}}, {{"status", 401}}, {{"status", 503}}}));

  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) {
    auto result = post_visitor(sim, token, request_variables(0, 1));
    ASSERT_TRUE(result);
    statuses.push_back(result->status);
  }

  EXPECT_EQ(statuses, (std::vector<int>{500, 401, 503, 200}));
}

TEST(sim_faults, faults_apply_to_token_endpoint) {
  sim_process sim;
  sim.set_faults(json::array({{{"status", 502}}}));

  auto result = post_token(sim, {{"grant_type", "client_credentials"},
                                 {"client_id", "sim-client"},
                                 {"client_secret", "sim-secret"}});

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 502);
}

TEST(sim_faults, home_page_does_not_consume_faults) {
  sim_process sim;
  sim.set_faults(json::array({{{"status", 500}}}));

  const auto token = sim.visitor_token();
  auto result = post_visitor(sim, token, request_variables(0, 1));

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 500);
}

TEST(sim_faults, slow_delays_response) {
  sim_process sim;
  const auto token = sim.visitor_token();
  sim.set_faults(json::array({{{"kind", "slow"}, {"ms", 300}}}));

  const auto start = std::chrono::steady_clock::now();
  auto result = post_visitor(sim, token, request_variables(0, 1));
  const auto elapsed = std::chrono::steady_clock::now() - start;

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_GE(elapsed, std::chrono::milliseconds{300});
}

TEST(sim_faults, marketplace_pagination_500_hits_variables_only) {
  sim_process sim;
  const auto token = access_token(sim);
  const json variables{
      {"filter", {{"pagination_eq", {{"first", 5}, {"after", "0"}}}}}};

  sim.set_faults(json::array({{{"kind", "marketplace_pagination_500"}}}));
  auto through_variables = post_marketplace(sim, token, marketplace_query_with_variables, variables);
  sim.set_faults(json::array({{{"kind", "marketplace_pagination_500"}}}));
  auto inlined = post_marketplace(sim, token, marketplace_query(5, "0"));

  ASSERT_TRUE(through_variables);
  EXPECT_EQ(through_variables->status, 500);
  ASSERT_TRUE(inlined);
  EXPECT_EQ(inlined->status, 200);
  EXPECT_EQ(edge_ids(marketplace_search(inlined)).size(), 5u);
}

TEST(sim_faults, latency_option_delays_api_responses) {
  sim_process sim({"--latency-ms", "150:200"});
  const auto token = sim.visitor_token();

  const auto start = std::chrono::steady_clock::now();
  auto result = post_visitor(sim, token, request_variables(0, 1));
  const auto elapsed = std::chrono::steady_clock::now() - start;

  ASSERT_TRUE(result);
  EXPECT_GE(elapsed, std::chrono::milliseconds{150});
}

// --- marketplace search -----------------------------------------------------------------------

TEST(marketplace_search, pages_follow_end_cursor) {
  sim_process sim;
  const auto ids = sim.published_ids();
  const auto token = access_token(sim);

  auto first = post_marketplace(sim, token, marketplace_query(20, "0"));
  ASSERT_TRUE(first);
  const auto first_page = marketplace_search(first);
  auto second = post_marketplace(sim, token,
                                 marketplace_query(20, first_page["pageInfo"]["endCursor"]));
  ASSERT_TRUE(second);
  const auto second_page = marketplace_search(second);

  EXPECT_EQ(first_page["totalCount"], 2481);
  EXPECT_EQ(edge_ids(first_page), slice(ids, 0, 20));
  EXPECT_TRUE(first_page["pageInfo"]["hasNextPage"].get<bool>());
  EXPECT_EQ(edge_ids(second_page), slice(ids, 20, 20));
}

TEST(marketplace_search, node_uses_marketplace_shapes) {
  sim_process sim;
  const auto token = access_token(sim);
  const std::string query =
      "query { marketplaceJobPostingsSearch(marketPlaceJobFilter: {pagination_eq: {first: 50, "
      "after: \"0\"}}, searchType: USER_JOBS_SEARCH, sortAttributes: [{field: RECENCY}]) { "
      "totalCount edges { cursor node { id ciphertext title description publishedDateTime "
      "createdDateTime amount { rawValue currency displayValue } hourlyBudgetMin { rawValue } "
      "hourlyBudgetMax { rawValue } skills { name prettyName } experienceLevel duration "
      "engagement client { location { country } } } } pageInfo { endCursor hasNextPage } } }";
  const std::regex marketplace_time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000)");

  auto result = post_marketplace(sim, token, query);

  ASSERT_TRUE(result);
  const json search = marketplace_search(result);
  for (const auto& edge : search["edges"]) {
    const auto& node = edge["node"];
    EXPECT_TRUE(std::regex_match(node["publishedDateTime"].get<std::string>(), marketplace_time));
    EXPECT_TRUE(node["amount"]["rawValue"].is_string());
    const auto tier = node["experienceLevel"].get<std::string>();
    EXPECT_TRUE(tier == "ENTRY_LEVEL" || tier == "INTERMEDIATE" || tier == "EXPERT") << tier;
    EXPECT_TRUE(node["client"]["location"].contains("country"));
  }
}

TEST(marketplace_search, cursor_survives_publish) {
  sim_process sim;
  const auto token = access_token(sim);
  const auto ids = sim.published_ids();

  auto first = post_marketplace(sim, token, marketplace_query(10, "0"));
  ASSERT_TRUE(first);
  const auto cursor = marketplace_search(first)["pageInfo"]["endCursor"].get<std::string>();
  sim.publish(7);
  auto second = post_marketplace(sim, token, marketplace_query(10, cursor));
  ASSERT_TRUE(second);

  EXPECT_EQ(edge_ids(marketplace_search(second)), slice(ids, 10, 10));
}

TEST(marketplace_search, cursor_survives_delete_of_its_posting) {
  sim_process sim;
  const auto token = access_token(sim);
  const auto before = sim.published_ids();

  auto first = post_marketplace(sim, token, marketplace_query(10, "0"));
  ASSERT_TRUE(first);
  const auto page = marketplace_search(first);
  const auto cursor = page["pageInfo"]["endCursor"].get<std::string>();
  const auto cursor_id = edge_ids(page).back();
  // Deletions are random picks, so delete until the posting under the cursor is gone.
  for (auto ids = sim.published_ids();
       std::find(ids.begin(), ids.end(), cursor_id) != ids.end(); ids = sim.published_ids()) {
    sim.remove(100);
  }
  auto second = post_marketplace(sim, token, marketplace_query(10, cursor));
  ASSERT_TRUE(second);

  const auto remaining = surviving(slice(before, 10, before.size()), sim.published_ids());
  EXPECT_EQ(edge_ids(marketplace_search(second)), slice(remaining, 0, 10));
}

TEST(marketplace_search, search_expression_filters) {
  sim_process sim;
  const auto token = access_token(sim);

  auto result = post_marketplace(sim, token, marketplace_query(50, "0", "android"));

  ASSERT_TRUE(result);
  const auto search = marketplace_search(result);
  EXPECT_GT(search["totalCount"].get<int>(), 0);
  EXPECT_LT(search["totalCount"].get<int>(), 2481);
}

TEST(marketplace_search, first_above_50_is_graphql_error) {
  sim_process sim;

  auto result = post_marketplace(sim, access_token(sim), marketplace_query(80, "0"));

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_TRUE(json::parse(result->body)["data"].is_null());
}

TEST(marketplace_search, pagination_through_variables_works) {
  sim_process sim;
  const auto ids = sim.published_ids();
  const json variables{{"filter", {{"pagination_eq", {{"first", 4}, {"after", "0"}}}}}};

  auto result = post_marketplace(sim, access_token(sim), marketplace_query_with_variables,
                                 variables);

  ASSERT_TRUE(result);
  EXPECT_EQ(edge_ids(marketplace_search(result)), slice(ids, 0, 4));
}

TEST(marketplace_search, client_without_scope_gets_scope_error) {
  sim_process sim;

  auto result = post_marketplace(sim, access_token(sim, "noscope", "noscope-secret"),
                                 marketplace_query(10, "0"));

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  const auto body = json::parse(result->body);
  EXPECT_TRUE(body["data"].is_null());
  EXPECT_EQ(body["errors"][0]["extensions"]["classification"], "ExecutionAborted");
  EXPECT_NE(first_error_message(result).find("permissions/scopes"), std::string::npos);
}

TEST(marketplace_search, visitor_token_gets_401) {
  sim_process sim;

  auto result = post_marketplace(sim, sim.visitor_token(), marketplace_query(10, "0"));

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
}

// --- OAuth2 token endpoint --------------------------------------------------------------------

TEST(oauth_token, refresh_rotates_refresh_token) {
  sim_process sim({"--refresh-token", "initial-refresh"});
  const httplib::Params first_form{{"grant_type", "refresh_token"},
                                   {"refresh_token", "initial-refresh"},
                                   {"client_id", "sim-client"},
                                   {"client_secret", "sim-secret"}};

  auto first = post_token(sim, first_form);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);
  const auto grant = json::parse(first->body);
  const auto rotated = grant["refresh_token"].get<std::string>();
  auto reused = post_token(sim, first_form);
  auto second = post_token(sim, {{"grant_type", "refresh_token"},
                                 {"refresh_token", rotated},
                                 {"client_id", "sim-client"},
                                 {"client_secret", "sim-secret"}});

  EXPECT_NE(rotated, "initial-refresh");
  EXPECT_EQ(grant["token_type"], "bearer");
  EXPECT_EQ(grant["expires_in"], 3600);
  ASSERT_TRUE(reused);
  EXPECT_EQ(reused->status, 400);
  EXPECT_EQ(json::parse(reused->body)["error"], "invalid_grant");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  auto search = post_marketplace(sim, grant["access_token"].get<std::string>(),
                                 marketplace_query(1, "0"));
  ASSERT_TRUE(search);
  EXPECT_EQ(search->status, 200);
}

TEST(oauth_token, same_rotation_keeps_refresh_token) {
  sim_process sim({"--refresh-token", "kept", "--refresh-rotation", "same", "--expires-in-string"});
  const httplib::Params form{{"grant_type", "refresh_token"},
                             {"refresh_token", "kept"},
                             {"client_id", "sim-client"},
                             {"client_secret", "sim-secret"}};

  auto first = post_token(sim, form);
  auto second = post_token(sim, form);

  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  const auto grant = json::parse(first->body);
  EXPECT_EQ(grant["refresh_token"], "kept");
  EXPECT_EQ(grant["expires_in"], "3600");
}

TEST(oauth_token, wrong_secret_is_invalid_client) {
  sim_process sim;

  auto result = post_token(sim, {{"grant_type", "client_credentials"},
                                 {"client_id", "sim-client"},
                                 {"client_secret", "wrong"}});

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_EQ(json::parse(result->body)["error"], "invalid_client");
}

TEST(oauth_token, unknown_refresh_token_is_invalid_grant) {
  sim_process sim;

  auto result = post_token(sim, {{"grant_type", "refresh_token"},
                                 {"refresh_token", "never-issued"},
                                 {"client_id", "sim-client"},
                                 {"client_secret", "sim-secret"}});

  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  const auto body = json::parse(result->body);
  EXPECT_EQ(body["error"], "invalid_grant");
  EXPECT_TRUE(body["error_description"].is_string());
}

TEST(oauth_token, custom_client_and_ttl_apply) {
  sim_process sim({"--oauth-client", "app:app-secret", "--token-ttl", "120"});

  auto result = post_token(sim, {{"grant_type", "client_credentials"},
                                 {"client_id", "app"},
                                 {"client_secret", "app-secret"}});
  auto default_client = post_token(sim, {{"grant_type", "client_credentials"},
                                         {"client_id", "sim-client"},
                                         {"client_secret", "sim-secret"}});

  ASSERT_TRUE(result);
  EXPECT_EQ(json::parse(result->body)["expires_in"], 120);
  ASSERT_TRUE(default_client);
  EXPECT_EQ(default_client->status, 401);
}

}  // namespace
