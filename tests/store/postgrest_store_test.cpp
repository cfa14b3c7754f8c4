// The PostgREST store against the PostgREST double (a real PostgreSQL behind a loopback HTTP
// server), and the double's own fidelity to PostgREST 12. Needs JOB_FETCHER_TEST_PG_URL.
#include <gtest/gtest.h>

#include <set>

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "doubles/postgrest/pg_test_database.hpp"
#include "doubles/postgrest/postgrest_double.hpp"
#include "real_postings.hpp"
#include "store/factories.hpp"
#include "store/postgrest_store.hpp"

namespace job_fetcher::store {
namespace {

using json = nlohmann::json;
using job_fetcher::testing::fresh_postgres_schema;
using job_fetcher::testing::postgres_unavailable_reason;
using job_fetcher::testing::postgrest_double;

const timestamp t1 = parse_timestamp("2025-06-16T10:00:00.000Z").value();
constexpr const char* key = "test-key";

class postgrest_store_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto reason = postgres_unavailable_reason(); !reason.empty()) GTEST_SKIP() << reason;
    std::string conninfo = fresh_postgres_schema();
    auto direct = make_postgres_store(conninfo);
    ASSERT_TRUE(direct.ok());
    ASSERT_TRUE((*direct)->migrate().ok());
    server_ = std::make_unique<postgrest_double>(conninfo, key);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port());
  }

  int port() const { return std::stoi(server_->url().substr(server_->url().rfind(':') + 1)); }

  std::unique_ptr<job_store> open(std::string api_key = key, int batch_rows = 16) {
    store_settings settings;
    settings.url.clear();
    settings.postgrest_url = server_->url();
    settings.postgrest_key = secret{std::move(api_key)};
    settings.postgrest_batch_rows = batch_rows;
    settings.postgrest_parallelism = 3;
    postgrest_options options;
    options.sleep = [this](std::chrono::milliseconds pause) { slept_.push_back(pause); };
    auto opened = make_postgrest_store(settings, options);
    EXPECT_TRUE(opened.ok());
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  httplib::Headers auth(std::string prefer = "") const {
    httplib::Headers headers{{"apikey", key}, {"Authorization", std::string("Bearer ") + key}};
    if (!prefer.empty()) headers.emplace("Prefer", prefer);
    return headers;
  }

  static json body_of(const httplib::Result& answer) { return json::parse(answer->body); }

  std::unique_ptr<postgrest_double> server_;
  std::unique_ptr<httplib::Client> client_;
  std::vector<std::chrono::milliseconds> slept_;
};

page_write page_of(std::vector<upwork::posting> postings) {
  page_write page;
  page.feed = "python";
  page.postings = std::move(postings);
  page.seen_at = t1;
  return page;
}

TEST_F(postgrest_store_test, batch_503_is_retried_without_loss) {
  auto store = open();
  auto postings = testing::real_postings(50);
  server_->fail_next(1);

  auto written = store->write_page(page_of(postings));
  ASSERT_TRUE(written.ok()) << written.err().describe();
  EXPECT_EQ(written->inserted, 50);
  EXPECT_EQ(slept_.size(), 1u);

  auto stored = store->read_postings(1000);
  ASSERT_TRUE(stored.ok());
  std::set<std::string> ids;
  for (const auto& row : *stored) ids.insert(row.posting.id);
  EXPECT_EQ(stored->size(), 50u);
  EXPECT_EQ(ids.size(), 50u);
  int failed = 0;
  for (const auto& line : server_->request_log()) failed += line.ends_with(" 503");
  EXPECT_EQ(failed, 1);
}

TEST_F(postgrest_store_test, persistent_503_is_store_error) {
  auto store = open();
  server_->fail_next(3);  // every attempt of the one batch
  auto written = store->write_page(page_of(testing::real_postings(5)));
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.err().kind, error_class::store);
  EXPECT_EQ(written.err().http_status, 503);
  auto mark = store->load_watermark("python");
  ASSERT_TRUE(mark.ok());
  EXPECT_FALSE(mark->has_value());
}

TEST_F(postgrest_store_test, wrong_key_is_config_error) {
  auto store = open("wrong-key");
  auto taken = store->acquire_lease("python", "run-a", t1, t1 + std::chrono::minutes(5));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.err().kind, error_class::config);
  EXPECT_EQ(taken.err().http_status, 401);
  EXPECT_EQ(taken.err().describe().find("wrong-key"), std::string::npos);
}

TEST_F(postgrest_store_test, missing_schema_names_the_fix) {
  server_.reset();
  server_ = std::make_unique<postgrest_double>(fresh_postgres_schema(), key);
  auto store = open();
  auto checked = store->migrate();
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.err().http_status, 404);
  EXPECT_NE(checked.err().message.find("migrate --print"), std::string::npos);
}

TEST_F(postgrest_store_test, double_upsert_status_201_then_200) {
  json rows = json::array({{{"token_name", "a"}, {"token_value", "v"}, {"expires", 1}, {"id", 1}}});
  auto first = client_->Post("/token_tracker?on_conflict=id",
                             auth("resolution=merge-duplicates, return=minimal"), rows.dump(),
                             "application/json");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 201);
  EXPECT_EQ(first->body, "");
  auto second = client_->Post("/token_tracker?on_conflict=id",
                              auth("resolution=merge-duplicates, return=representation"),
                              rows.dump(), "application/json");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(body_of(second).at(0).at("token_value"), "v");
}

TEST_F(postgrest_store_test, double_rejects_uneven_keys) {
  json rows = json::array({{{"token_name", "a"}, {"token_value", "v"}, {"expires", 1}},
                           {{"token_name", "b"}, {"expires", 1}}});
  auto answer = client_->Post("/token_tracker", auth(), rows.dump(), "application/json");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 400);
  EXPECT_EQ(body_of(answer).at("code"), "PGRST102");
  EXPECT_EQ(body_of(answer).at("message"), "All object keys must match");
}

TEST_F(postgrest_store_test, double_rejects_same_id_twice_in_upsert) {
  json row = {{"id", 7}, {"token_name", "a"}, {"token_value", "v"}, {"expires", 1}};
  auto answer = client_->Post("/token_tracker?on_conflict=id",
                              auth("resolution=merge-duplicates"),
                              json::array({row, row}).dump(), "application/json");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 400);  // 21000 is not in PostgREST's table, so it maps to 400
  EXPECT_EQ(body_of(answer).at("code"), "21000");
}

TEST_F(postgrest_store_test, double_unique_violation_is_409) {
  json row = {{"id", 7}, {"token_name", "a"}, {"token_value", "v"}, {"expires", 1}};
  ASSERT_EQ(client_->Post("/token_tracker", auth(), row.dump(), "application/json")->status, 201);
  auto answer = client_->Post("/token_tracker", auth(), row.dump(), "application/json");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 409);
  EXPECT_EQ(body_of(answer).at("code"), "23505");
}

TEST_F(postgrest_store_test, double_unknown_table_is_404) {
  auto answer = client_->Get("/no_such_table?select=id", auth());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 404);
  EXPECT_EQ(body_of(answer).at("code"), "PGRST205");
}

TEST_F(postgrest_store_test, double_unknown_function_is_404) {
  auto answer = client_->Post("/rpc/acquire_lease", auth(), R"({"p_feed": "x"})",
                              "application/json");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 404);
  EXPECT_EQ(body_of(answer).at("code"), "PGRST202");
}

TEST_F(postgrest_store_test, double_get_filters_orders_and_limits) {
  for (int i = 1; i <= 3; ++i) {
    json row = {{"token_name", i == 2 ? "b" : "a"}, {"token_value", std::to_string(i)},
                {"expires", i}};
    ASSERT_EQ(client_->Post("/token_tracker", auth(), row.dump(), "application/json")->status,
              201);
  }
  auto answer = client_->Get(
      "/token_tracker?select=token_value,expires&token_name=eq.a&order=expires.desc&limit=1",
      auth());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(body_of(answer), json::parse(R"([{"token_value": "3", "expires": 3}])"));
}

TEST_F(postgrest_store_test, double_rejects_wrong_bearer) {
  httplib::Headers headers{{"apikey", key}, {"Authorization", "Bearer nope"}};
  auto answer = client_->Get("/token_tracker", headers);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 401);
  EXPECT_EQ(body_of(answer).at("code"), "PGRST301");
}

}  // namespace
}  // namespace job_fetcher::store
