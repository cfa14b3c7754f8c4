#include "upwork/visitor.hpp"

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

const timestamp newest = *parse_timestamp("2025-06-15T18:59:18.224Z");

std::vector<timestamp> publish_times(std::size_t count) {
  return fixtures::spaced_publish_times(count, newest, std::chrono::milliseconds{14'417});
}

// Renders one record as a one-posting page, applies `edit` to the JSON and parses it.
result<page> parse_edited(std::size_t record_index, const std::function<void(json&)>& edit) {
  auto times = publish_times(1);
  json body = json::parse(fixtures::render_visitor_page(
      std::span(all_records()).subspan(record_index, 1), 0, 1, times));
  edit(body);
  return parse_visitor_page(200, "application/json", body.dump());
}

json& first_result(json& body) {
  return body["data"]["search"]["universalSearchNuxt"]["visitorJobSearchV1"]["results"][0];
}

json& first_job(json& body) { return first_result(body)["jobTile"]["job"]; }

const std::string results_path = "$.data.search.universalSearchNuxt.visitorJobSearchV1.results";

TEST(visitor_page, parses_every_real_posting) {
  const auto& records = all_records();
  ASSERT_EQ(records.size(), 2781u);
  auto times = publish_times(records.size());

  std::size_t compared = 0;
  for (std::size_t offset = 0; offset < records.size(); offset += 50) {
    std::size_t count = std::min<std::size_t>(50, records.size() - offset);
    std::string body = fixtures::render_visitor_page(
        std::span(records).subspan(offset, count), static_cast<std::int64_t>(offset),
        static_cast<std::int64_t>(records.size()), std::span(times).subspan(offset, count));
    auto parsed = parse_visitor_page(200, "application/json", body);
    ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
    ASSERT_EQ(parsed->postings.size(), count);
    EXPECT_EQ(parsed->offset, static_cast<std::int64_t>(offset));
    EXPECT_EQ(parsed->total, static_cast<std::int64_t>(records.size()));
    EXPECT_EQ(parsed->has_next_page, offset + count < records.size());
    for (std::size_t i = 0; i < count; ++i) {
      posting expected = fixtures::expected_posting(records[offset + i], "visitor", times[offset + i]);
      ASSERT_EQ(parsed->postings[i], expected) << "record " << offset + i;
      ++compared;
    }
  }
  EXPECT_EQ(compared, records.size());
}

TEST(visitor_page, maps_first_record_fields) {
  auto parsed = parse_edited(0, [](json&) {});
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  const posting& job = parsed->postings.at(0);
  EXPECT_EQ(job.id, "1896906749603939933");
  EXPECT_EQ(job.link, "https://www.upwork.com/jobs/~021896906749603939933");
  EXPECT_EQ(job.job_type, "fixed");
  EXPECT_EQ(job.fixed_budget, "800.00");
  EXPECT_EQ(job.hourly_min, std::nullopt);  // "0.0" on a fixed job
  EXPECT_EQ(job.hourly_max, std::nullopt);
  EXPECT_EQ(job.currency, "USD");
  EXPECT_EQ(job.source, "visitor");
  EXPECT_EQ(job.published_at, newest);
  EXPECT_EQ(job.created_at, std::nullopt);
  EXPECT_EQ(job.skills.front(), "Graphic Design");
  EXPECT_EQ(job.content_hash.size(), 64u);
}

TEST(visitor_page, drops_zero_fixed_amount_of_hourly_job) {
  auto parsed = parse_edited(1, [](json& body) {
    first_job(body)["fixedPriceAmount"] = {{"amount", "0.0"}, {"isoCurrencyCode", "USD"}};
  });
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  EXPECT_EQ(parsed->postings[0].job_type, "hourly");
  EXPECT_EQ(parsed->postings[0].fixed_budget, std::nullopt);
  EXPECT_EQ(parsed->postings[0].hourly_min, "22.00");
  EXPECT_EQ(parsed->postings[0].hourly_max, "30.00");
}

TEST(visitor_page, parses_decimal_forms) {
  auto parsed = parse_edited(1, [](json& body) {
    first_job(body)["hourlyBudgetMin"] = "12.5";
    first_job(body)["hourlyBudgetMax"] = 1000;
    first_job(body)["fixedPriceAmount"] = nullptr;
  });
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  EXPECT_EQ(parsed->postings[0].hourly_min, "12.50");
  EXPECT_EQ(parsed->postings[0].hourly_max, "1000.00");
  EXPECT_EQ(parsed->postings[0].fixed_budget, std::nullopt);
  EXPECT_EQ(parsed->postings[0].currency, "USD");
}

TEST(visitor_page, rejects_fractional_json_number_amount) {
  auto parsed = parse_edited(1, [](json& body) { first_job(body)["hourlyBudgetMin"] = 12.5; });
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.err().kind, error_class::bad_response);
  EXPECT_EQ(parsed.err().json_path, results_path + "[0].jobTile.job.hourlyBudgetMin");
}

TEST(visitor_page, rejects_malformed_decimal) {
  auto parsed = parse_edited(1, [](json& body) { first_job(body)["hourlyBudgetMax"] = "1e3"; });
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.err().json_path, results_path + "[0].jobTile.job.hourlyBudgetMax");
}

TEST(visitor_page, parses_every_timestamp_form) {
  for (const char* text : {"2025-06-15T18:59:18.224Z", "2025-06-15T18:59:18.224+00:00",
                           "2025-06-15T20:59:18.224+0200"}) {
    auto parsed = parse_edited(0, [&](json& body) { first_job(body)["publishTime"] = text; });
    ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
    EXPECT_EQ(parsed->postings[0].published_at, newest) << text;
  }
}

TEST(visitor_page, falls_back_to_create_time) {
  auto parsed = parse_edited(0, [](json& body) {
    first_job(body)["publishTime"] = nullptr;
    first_job(body)["createTime"] = "2025-06-15T18:00:00.000Z";
  });
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  EXPECT_EQ(parsed->postings[0].published_at, *parse_timestamp("2025-06-15T18:00:00Z"));
  EXPECT_EQ(parsed->postings[0].created_at, *parse_timestamp("2025-06-15T18:00:00Z"));
}

TEST(visitor_page, strips_highlights_and_controls) {
  auto parsed = parse_edited(0, [](json& body) {
    first_result(body)["title"] = "Senior H^Python^H dev\r";
    first_result(body)["description"] = std::string("line\x01 one\nH^two^H\x7F");
    first_result(body)["ontologySkills"] = {{{"prefLabel", "H^Python^H"}}};
  });
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  EXPECT_EQ(parsed->postings[0].title, "Senior Python dev");
  EXPECT_EQ(parsed->postings[0].description, "line one\ntwo");
  EXPECT_EQ(parsed->postings[0].skills, std::vector<std::string>{"Python"});
}

TEST(visitor_page, removes_duplicate_skills) {
  auto parsed = parse_edited(0, [](json& body) {
    first_result(body)["ontologySkills"] = {{{"prefLabel", "Go"}}, {{"prefLabel", "SQL"}},
                                            {{"prefLabel", "Go"}}, {{"prefLabel", nullptr}},
                                            {{"prefLabel", "SQL"}}};
  });
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  EXPECT_EQ(parsed->postings[0].skills, (std::vector<std::string>{"Go", "SQL"}));
}

TEST(visitor_page, replaces_invalid_utf8_in_body) {
  std::string body = fixtures::render_visitor_page(std::span(all_records()).subspan(0, 1), 0, 1,
                                                   publish_times(1));
  std::size_t title = body.find("\"title\":\"Augmented Reality");
  ASSERT_NE(title, std::string::npos);
  body[title + 9] = '\xFF';
  auto parsed = parse_visitor_page(200, "application/json", body);
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  EXPECT_EQ(parsed->postings[0].title.substr(0, 4), "\xEF\xBF\xBDu");
}

TEST(visitor_page, replaces_unpaired_surrogate_escapes) {
  std::string body = fixtures::render_visitor_page(std::span(all_records()).subspan(0, 1), 0, 1,
                                                   publish_times(1));
  std::size_t title = body.find("\"title\":\"Augmented Reality");
  ASSERT_NE(title, std::string::npos);
  body.insert(title + 9, "\\ud800 \\\\ud800 \\ud83d\\ude00 ");
  auto parsed = parse_visitor_page(200, "application/json", body);
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  EXPECT_EQ(parsed->postings[0].title.substr(0, 20),
            "\xEF\xBF\xBD \\ud800 \xF0\x9F\x98\x80 Augm");
}

TEST(visitor_page, accepts_numeric_contractor_tier) {
  auto parsed = parse_edited(0, [](json& body) { first_job(body)["contractorTier"] = 3; });
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  EXPECT_EQ(parsed->postings[0].contractor_tier, "expert");
}

TEST(visitor_page, unknown_job_type_is_null) {
  auto parsed = parse_edited(0, [](json& body) { first_job(body)["jobType"] = "RETAINER"; });
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  EXPECT_EQ(parsed->postings[0].job_type, std::nullopt);
  EXPECT_EQ(parsed->postings[0].hourly_min, "0.00");  // kept: the type is unknown
}

TEST(visitor_page, empty_results_are_a_page) {
  std::string body = fixtures::render_visitor_page({}, 0, 0, {});
  auto parsed = parse_visitor_page(200, "application/json", body);
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
  EXPECT_TRUE(parsed->postings.empty());
  EXPECT_FALSE(parsed->has_next_page);
}

struct missing_field_case {
  const char* name;
  std::function<void(json&)> edit;
  std::string path;
};

TEST(visitor_page, reports_json_path_of_missing_fields) {
  std::vector<missing_field_case> cases = {
      {"id", [](json& b) { first_result(b).erase("id"); }, results_path + "[0].id"},
      {"id null", [](json& b) { first_result(b)["id"] = nullptr; }, results_path + "[0].id"},
      {"id not numeric", [](json& b) { first_result(b)["id"] = "abc"; }, results_path + "[0].id"},
      {"title", [](json& b) { first_result(b).erase("title"); }, results_path + "[0].title"},
      {"title type", [](json& b) { first_result(b)["title"] = 5; }, results_path + "[0].title"},
      {"ciphertext", [](json& b) { first_job(b).erase("ciphertext"); },
       results_path + "[0].jobTile.job.ciphertext"},
      {"ciphertext empty", [](json& b) { first_job(b)["ciphertext"] = ""; },
       results_path + "[0].jobTile.job.ciphertext"},
      {"jobTile", [](json& b) { first_result(b).erase("jobTile"); },
       results_path + "[0].jobTile"},
      {"job", [](json& b) { first_result(b)["jobTile"]["job"] = nullptr; },
       results_path + "[0].jobTile.job"},
      {"times",
       [](json& b) {
         first_job(b).erase("publishTime");
         first_job(b)["createTime"] = nullptr;
       },
       results_path + "[0].jobTile.job.publishTime"},
      {"bad time", [](json& b) { first_job(b)["publishTime"] = "yesterday"; },
       results_path + "[0].jobTile.job.publishTime"},
      {"currency", [](json& b) { first_job(b)["fixedPriceAmount"]["isoCurrencyCode"] = "US$"; },
       results_path + "[0].jobTile.job.fixedPriceAmount.isoCurrencyCode"},
      {"skills type", [](json& b) { first_result(b)["ontologySkills"] = "Python"; },
       results_path + "[0].ontologySkills"},
      {"skill entry", [](json& b) { first_result(b)["ontologySkills"][1] = "Python"; },
       results_path + "[0].ontologySkills[1]"},
      {"result type", [](json& b) { first_result(b) = "posting"; }, results_path + "[0]"},
      {"results", [](json& b) {
         b["data"]["search"]["universalSearchNuxt"]["visitorJobSearchV1"].erase("results");
       }, results_path},
      {"paging", [](json& b) {
         b["data"]["search"]["universalSearchNuxt"]["visitorJobSearchV1"]["paging"].erase("total");
       }, "$.data.search.universalSearchNuxt.visitorJobSearchV1.paging.total"},
      {"data", [](json& b) { b["data"] = nullptr; }, "$.data"},
      {"search", [](json& b) { b["data"].erase("search"); }, "$.data.search"},
  };
  for (const auto& test_case : cases) {
    auto parsed = parse_edited(0, test_case.edit);
    ASSERT_FALSE(parsed.ok()) << test_case.name;
    EXPECT_EQ(parsed.err().kind, error_class::bad_response) << test_case.name;
    EXPECT_EQ(parsed.err().json_path, test_case.path) << test_case.name;
    EXPECT_NE(parsed.err().message.find(test_case.path), std::string::npos) << test_case.name;
  }
}

TEST(visitor_page, one_bad_posting_fails_the_page) {
  const auto& records = all_records();
  auto times = publish_times(50);
  json body = json::parse(fixtures::render_visitor_page(std::span(records).subspan(0, 50), 0, 2781, times));
  body["data"]["search"]["universalSearchNuxt"]["visitorJobSearchV1"]["results"][7]["jobTile"]["job"]
      .erase("ciphertext");
  auto parsed = parse_visitor_page(200, "application/json", body.dump());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.err().json_path, results_path + "[7].jobTile.job.ciphertext");
}

TEST(visitor_page, invalid_json_is_bad_response) {
  std::string body = fixtures::render_visitor_page(std::span(all_records()).subspan(0, 3), 0, 3,
                                                   publish_times(3));
  auto parsed = parse_visitor_page(200, "application/json", body.substr(0, body.size() / 2));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.err().kind, error_class::bad_response);
  EXPECT_EQ(parsed.err().json_path, "$");
  EXPECT_FALSE(parse_visitor_page(200, "application/json", "").ok());
  EXPECT_FALSE(parse_visitor_page(200, "application/json", "[]").ok());
}

TEST(visitor_page, scope_error_names_the_field) {
  std::string body = fixtures::render_graphql_error(
      "The client or authentication token doesn't have enough oauth2 permissions/scopes to "
      "access: [VisitorJobSearchV1Job.totalApplicants]",
      "ExecutionAborted", "search.universalSearchNuxt.visitorJobSearchV1");
  auto parsed = parse_visitor_page(200, "application/json", body);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.err().kind, error_class::scope);
  EXPECT_NE(parsed.err().message.find("totalApplicants"), std::string::npos);
  EXPECT_NE(parsed.err().message.find("search.universalSearchNuxt.visitorJobSearchV1"),
            std::string::npos);
  EXPECT_EQ(parsed.err().json_path, "$.errors[0]");
  EXPECT_EQ(parsed.err().http_status, 200);
}

TEST(visitor_page, graphql_errors_with_data_are_not_success) {
  json body = json::parse(fixtures::render_visitor_page(std::span(all_records()).subspan(0, 1), 0,
                                                        1, publish_times(1)));
  body["errors"] = {{{"message", "Validation error of type FieldUndefined: Field 'foo'"},
                     {"extensions", {{"classification", "ValidationError"}}}}};
  auto parsed = parse_visitor_page(200, "application/json", body.dump());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.err().kind, error_class::bad_response);
  EXPECT_NE(parsed.err().message.find("FieldUndefined"), std::string::npos);
}

TEST(visitor_page, classifies_graphql_errors) {
  struct graphql_case {
    const char* message;
    const char* classification;
    error_class expected;
  };
  std::vector<graphql_case> cases = {
      {"Requested resource is not available: permission denied", "ExecutionAborted",
       error_class::scope},
      {"doesn't have enough oauth2 permissions/scopes", "", error_class::scope},
      {"Query timeout", "ExecutionAborted", error_class::transient},
      {"Upstream request timed out", "", error_class::transient},
      {"Something", "TimeoutException", error_class::transient},
      {"Validation error of type FieldUndefined", "ValidationError", error_class::bad_response},
      {"Exception occurred", "ExecutionAborted", error_class::bad_response},
  };
  for (const auto& test_case : cases) {
    auto parsed = parse_visitor_page(
        200, "application/json",
        fixtures::render_graphql_error(test_case.message, test_case.classification, ""));
    ASSERT_FALSE(parsed.ok()) << test_case.message;
    EXPECT_EQ(parsed.err().kind, test_case.expected) << test_case.message;
  }
}

TEST(visitor_page, permission_error_outranks_other_errors) {
  json body = {{"data", nullptr},
               {"errors",
                {{{"message", "Query timeout"}},
                 {{"message", "Field 'x' undefined"}},
                 {{"message", "not enough oauth2 permissions/scopes: [Job.premium]"}}}}};
  auto parsed = parse_visitor_page(200, "application/json", body.dump());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.err().kind, error_class::scope);
  EXPECT_EQ(parsed.err().json_path, "$.errors[2]");
}

TEST(visitor_page, empty_errors_array_is_success) {
  json body = json::parse(fixtures::render_visitor_page({}, 0, 0, {}));
  body["errors"] = json::array();
  EXPECT_TRUE(parse_visitor_page(200, "application/json", body.dump()).ok());
}

TEST(visitor_page, classifies_http_statuses) {
  const std::string challenge =
      "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
      "<div id=\"cf-challenge\"></div><script src=\"/cdn-cgi/challenge-platform/x.js\"></script>"
      "</body></html>";
  struct status_case {
    int status;
    std::string content_type;
    std::string body;
    error_class expected;
  };
  std::vector<status_case> cases = {
      {401, "application/json", R"({"error":"invalid_token"})", error_class::auth},
      {403, "text/html; charset=UTF-8", challenge, error_class::blocked},
      {403, "text/html", "<html>Forbidden</html>", error_class::blocked},
      {403, "", "", error_class::blocked},
      {403, "application/json", R"({"message":"Forbidden"})", error_class::scope},
      {407, "text/html", "Proxy Authentication Required", error_class::blocked},
      {429, "application/json", R"({"message":"Too Many Requests"})", error_class::rate_limited},
      {503, "text/html", challenge, error_class::blocked},
      {503, "text/html", "<html>Service Unavailable</html>", error_class::transient},
      {500, "application/json", R"({"message":"Exception occurred"})", error_class::transient},
      {502, "", "", error_class::transient},
      {504, "", "", error_class::transient},
      {408, "", "", error_class::transient},
      {200, "text/html", challenge, error_class::blocked},
      {200, "text/html", "<html>hello</html>", error_class::bad_response},
      {404, "text/html", "not found", error_class::bad_response},
      {302, "", "", error_class::bad_response},
      {400, "application/json",
       R"({"errors":[{"message":"Validation error of type FieldUndefined"}]})",
       error_class::bad_response},
      {400, "application/json", R"({"errors":[{"message":"no oauth2 permissions/scopes"}]})",
       error_class::scope},
      {400, "application/json", R"({"data":null})", error_class::bad_response},
  };
  for (const auto& test_case : cases) {
    auto parsed = parse_visitor_page(test_case.status, test_case.content_type, test_case.body);
    ASSERT_FALSE(parsed.ok()) << test_case.status << " " << test_case.body;
    EXPECT_EQ(parsed.err().kind, test_case.expected) << test_case.status << " " << test_case.body;
    EXPECT_EQ(parsed.err().http_status, test_case.status) << test_case.body;
  }
}

TEST(visitor_page, json_mentioning_cloudflare_is_not_a_challenge) {
  auto parsed = parse_edited(0, [](json& body) {
    first_result(body)["description"] = "Just a moment: set up cloudflare cf-ray logging";
  });
  ASSERT_TRUE(parsed.ok()) << parsed.err().describe();
}

TEST(visitor_request, has_fixed_field_set_and_variables) {
  visitor_query query;
  query.user_query = "python \"django\"\n";
  json body = json::parse(build_visitor_request(query, 100, 50));
  const json& variables = body.at("variables").at("requestVariables");
  EXPECT_EQ(variables.at("sort"), "recency");
  EXPECT_EQ(variables.at("highlight"), false);
  EXPECT_EQ(variables.at("paging").at("offset"), 100);
  EXPECT_EQ(variables.at("paging").at("count"), 50);
  EXPECT_EQ(variables.at("userQuery"), "python \"django\"\n");

  std::string text = body.at("query").get<std::string>();
  EXPECT_NE(text.find("visitorJobSearchV1(request: $requestVariables)"), std::string::npos);
  EXPECT_NE(text.find("$requestVariables: VisitorJobSearchV1Request!"), std::string::npos);
  EXPECT_NE(text.find("ciphertext: cipherText"), std::string::npos);
  EXPECT_NE(text.find("ontologySkills { prefLabel }"), std::string::npos);
  for (const char* gated : {"totalApplicants", "premium", "client", "buyer"}) {
    EXPECT_EQ(text.find(gated), std::string::npos) << gated;
  }
}

TEST(visitor_request, omits_empty_query_and_filters) {
  json variables = json::parse(build_visitor_request({}, 0, 50))["variables"]["requestVariables"];
  EXPECT_FALSE(variables.contains("userQuery"));
  EXPECT_FALSE(variables.contains("jobType"));
  EXPECT_EQ(variables.size(), 3u);
}

TEST(visitor_request, sends_filters) {
  visitor_query query;
  query.filters.job_type = "hourly";
  query.filters.contractor_tier = {"EntryLevel", "ExpertLevel"};
  query.filters.workload = {"full_time"};
  query.filters.duration = {"ongoing"};
  query.filters.client_hires = {"1-9"};
  query.filters.hourly_rate = amount_range{10, 50};
  query.filters.location = "United States";
  ASSERT_TRUE(validate(query).ok());
  json variables = json::parse(build_visitor_request(query, 0, 50))["variables"]["requestVariables"];
  EXPECT_EQ(variables.at("jobType"), json::array({"hourly"}));
  EXPECT_EQ(variables.at("contractorTier"), json::array({"EntryLevel", "ExpertLevel"}));
  EXPECT_EQ(variables.at("workload"), json::array({"full_time"}));
  EXPECT_EQ(variables.at("durationV3"), json::array({"ongoing"}));
  EXPECT_EQ(variables.at("clientHires"), json::array({"1-9"}));
  EXPECT_EQ(variables.at("hourlyRate"), (json{{"min", 10}, {"max", 50}}));
  EXPECT_EQ(variables.at("location"), json::array({"United States"}));
  EXPECT_FALSE(variables.contains("budget"));
}

TEST(visitor_request, clamps_paging_to_the_result_cap) {
  auto paging = [](int offset, int count) {
    return json::parse(build_visitor_request({}, offset, count))["variables"]["requestVariables"]
        ["paging"];
  };
  EXPECT_EQ(paging(4980, 50), (json{{"offset", 4980}, {"count", 20}}));
  EXPECT_EQ(paging(0, 500), (json{{"offset", 0}, {"count", 50}}));
  EXPECT_EQ(paging(-5, 0), (json{{"offset", 0}, {"count", 1}}));
  EXPECT_EQ(paging(6000, 50), (json{{"offset", 4999}, {"count", 1}}));
}

TEST(visitor_request, replaces_invalid_utf8_instead_of_throwing) {
  visitor_query query;
  query.user_query = "bad \xFF byte";
  json body = json::parse(build_visitor_request(query, 0, 10));
  EXPECT_EQ(body["variables"]["requestVariables"]["userQuery"], "bad \xEF\xBF\xBD byte");
}

TEST(visitor_query_validation, accepts_defaults) { EXPECT_TRUE(validate(visitor_query{}).ok()); }

TEST(visitor_query_validation, rejects_invalid_settings) {
  struct validation_case {
    const char* name;
    std::function<void(visitor_query&)> edit;
    const char* setting;
  };
  std::vector<validation_case> cases = {
      {"page size 0", [](visitor_query& q) { q.page_size = 0; }, "page_size"},
      {"page size 51", [](visitor_query& q) { q.page_size = 51; }, "page_size"},
      {"long query", [](visitor_query& q) { q.user_query = std::string(501, 'a'); }, "user_query"},
      {"invalid utf8", [](visitor_query& q) { q.user_query = "\xFF"; }, "user_query"},
      {"job type", [](visitor_query& q) { q.filters.job_type = "HOURLY"; }, "filters.job_type"},
      {"tier", [](visitor_query& q) { q.filters.contractor_tier = {"entry"}; },
       "filters.contractor_tier"},
      {"workload", [](visitor_query& q) { q.filters.workload = {"always"}; }, "filters.workload"},
      {"duration", [](visitor_query& q) { q.filters.duration = {"year"}; }, "filters.duration"},
      {"client hires", [](visitor_query& q) { q.filters.client_hires = {"5"}; },
       "filters.client_hires"},
      {"budget without fixed", [](visitor_query& q) { q.filters.budget = amount_range{100, {}}; },
       "filters.budget"},
      {"hourly rate with fixed",
       [](visitor_query& q) {
         q.filters.job_type = "fixed";
         q.filters.hourly_rate = amount_range{10, 20};
       },
       "filters.hourly_rate"},
      {"inverted range",
       [](visitor_query& q) {
         q.filters.job_type = "fixed";
         q.filters.budget = amount_range{500, 100};
       },
       "filters.budget"},
      {"negative range",
       [](visitor_query& q) {
         q.filters.job_type = "hourly";
         q.filters.hourly_rate = amount_range{-1, {}};
       },
       "filters.hourly_rate"},
      {"empty location", [](visitor_query& q) { q.filters.location = ""; }, "filters.location"},
  };
  for (const auto& test_case : cases) {
    visitor_query query;
    test_case.edit(query);
    auto checked = validate(query);
    ASSERT_FALSE(checked.ok()) << test_case.name;
    EXPECT_EQ(checked.err().kind, error_class::config) << test_case.name;
    EXPECT_NE(checked.err().message.find(test_case.setting), std::string::npos)
        << test_case.name << ": " << checked.err().message;
  }
}

TEST(visitor_query_validation, counts_characters_not_bytes) {
  visitor_query query;
  query.user_query.clear();
  for (int i = 0; i < 500; ++i) query.user_query += "é";  // 1,000 bytes
  EXPECT_TRUE(validate(query).ok());
  query.user_query += "é";
  EXPECT_FALSE(validate(query).ok());
}

}  // namespace
}  // namespace job_fetcher::upwork
