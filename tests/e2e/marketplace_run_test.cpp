// End-to-end runs of the marketplace source (the official GraphQL API with OAuth2 tokens)
// against upwork-sim serving the real postings.
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "doubles/fixtures/posting_fixtures.hpp"
#include "e2e/e2e_support.hpp"
#include "upwork/normalize.hpp"

namespace job_fetcher::e2e {
namespace {

using namespace std::chrono_literals;
using doubles::sim_process;

// The refresh token the simulator accepts once; every refresh rotates it.
constexpr const char* initial_refresh_token = "sim-refresh-token-1";

std::vector<std::string> sim_args(const std::string& published, const std::string& seed,
                                  std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--published", published, "--seed", seed, "--refresh-token",
                                initial_refresh_token};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

class marketplace_run : public ::testing::Test {
 protected:
  std::string store_url() const { return "sqlite:" + (dir_.path() / "jobs.db").string(); }

  run::settings settings_for(const sim_process& sim) const {
    auto values = sim_settings(sim, store_url());
    values.source = "marketplace";
    values.client_id = "sim-client";
    values.client_secret = secret("sim-secret");
    values.refresh_token = secret(initial_refresh_token);
    return values;
  }

  std::map<std::string, store::stored_posting> stored_by_id() {
    auto db = open_for_inspection(store_url());
    auto rows = db->read_postings(100000);
    EXPECT_TRUE(rows.ok());
    std::map<std::string, store::stored_posting> by_id;
    for (auto& row : *rows) by_id.emplace(row.posting.id, row);
    return by_id;
  }

  std::vector<store::run_record> runs() {
    auto db = open_for_inspection(store_url());
    auto rows = db->recent_runs(std::nullopt, 100);
    EXPECT_TRUE(rows.ok());
    return *rows;
  }

  temp_dir dir_;
};

timestamp whole_seconds(timestamp at) {
  return std::chrono::floor<std::chrono::seconds>(at);
}

// Builds the posting the store must hold for a posting the simulator serves.
upwork::posting expected_from_sim(sim_process& sim, const std::string& id) {
  auto served = sim.posting(id);
  auto published = parse_timestamp(served["publish_time"].get<std::string>());
  auto expected = fixtures::expected_posting(served["record"], "marketplace", published.value());
  auto created = parse_timestamp(served["create_time"].get<std::string>());
  expected.created_at = whole_seconds(created.value());
  expected.content_hash = upwork::content_hash(expected);
  return expected;
}

TEST_F(marketplace_run, first_run_stores_exactly_the_newest_backfill) {
  sim_process sim(sim_args("2000", "3"));
  auto values = settings_for(sim);
  values.backfill = 500;

  auto summary = run_once(values);

  ASSERT_EQ(summary.status, run::run_status::ok) << summary.to_text();
  auto published = sim.published_ids();
  auto stored = stored_by_id();
  ASSERT_EQ(stored.size(), 500u);
  for (std::size_t i = 0; i < 500; ++i) {
    auto it = stored.find(published[i]);
    ASSERT_NE(it, stored.end()) << "newest posting #" << i << " missing: " << published[i];
    EXPECT_EQ(posting_differences(it->second.posting, expected_from_sim(sim, published[i])), "")
        << published[i];
  }
  auto stats = sim.stats();
  EXPECT_EQ(stats.marketplace_requests, 10u);
  EXPECT_EQ(stats.token_requests, 1u);
  EXPECT_EQ(stats.visitor_requests, 0u);
  EXPECT_EQ(summary.postings_new, 500);
}

TEST_F(marketplace_run, second_run_without_news_sends_one_request) {
  sim_process sim(sim_args("2000", "4"));
  auto values = settings_for(sim);
  ASSERT_EQ(run_once(values).status, run::run_status::ok);
  sim.reset_stats();

  auto summary = run_once(values);

  EXPECT_EQ(summary.status, run::run_status::ok) << summary.to_text();
  EXPECT_EQ(sim.stats().marketplace_requests, 1u);
  EXPECT_EQ(sim.stats().token_requests, 0u) << "the cached access token must be reused";
  EXPECT_EQ(summary.postings_new, 0);
  EXPECT_EQ(summary.postings_updated, 0);
}

TEST_F(marketplace_run, published_batch_is_stored_with_few_requests) {
  sim_process sim(sim_args("2000", "5"));
  auto values = settings_for(sim);
  ASSERT_EQ(run_once(values).status, run::run_status::ok);
  ASSERT_EQ(sim.publish(120), 120u);
  sim.reset_stats();

  auto summary = run_once(values);

  EXPECT_EQ(summary.status, run::run_status::ok) << summary.to_text();
  EXPECT_EQ(summary.postings_new, 120);
  EXPECT_LE(sim.stats().marketplace_requests, 4u);
  auto stored = stored_by_id();
  auto published = sim.published_ids();
  for (std::size_t i = 0; i < 120; ++i) {
    ASSERT_TRUE(stored.contains(published[i])) << published[i];
    EXPECT_EQ(posting_differences(stored.at(published[i]).posting,
                                  expected_from_sim(sim, published[i])),
              "")
        << published[i];
  }
}

TEST_F(marketplace_run, changes_between_pages_lose_nothing) {
  sim_process sim(sim_args("2000", "6", {"--latency-ms", "150"}));
  auto values = settings_for(sim);
  values.backfill = 300;
  ASSERT_EQ(run_once(values).status, run::run_status::ok);
  auto watermark = open_for_inspection(store_url())->load_watermark("default");
  ASSERT_TRUE(watermark.ok());
  ASSERT_TRUE(watermark->has_value());
  ASSERT_EQ(sim.publish(200), 200u);

  // The second run pages through the 200 new postings (4 or more requests of 150 ms); the
  // changes land while it is between pages.
  std::thread changes([&] {
    std::this_thread::sleep_for(250ms);
    sim.publish(40);
    sim.renew(10);
    sim.remove(5);
  });
  auto summary = run_once(values);
  changes.join();
  ASSERT_EQ(summary.status, run::run_status::ok) << summary.to_text();
  // Postings published during the run (at its top) are the next run's work.
  ASSERT_EQ(run_once(values).status, run::run_status::ok);

  auto stored = stored_by_id();
  for (const auto& id : sim.published_ids()) {
    auto served = sim.posting(id);
    auto published_at = parse_timestamp(served["publish_time"].get<std::string>()).value();
    if (whole_seconds(published_at) <= (*watermark)->at) continue;
    EXPECT_TRUE(stored.contains(id)) << "missing " << id << " published "
                                     << served["publish_time"];
  }
}

struct fault_case {
  std::string name;
  nlohmann::json faults;
  run::run_status expected_status;
  std::string expected_class;  // empty when the run succeeds
};

class marketplace_fault : public marketplace_run,
                          public ::testing::WithParamInterface<fault_case> {};

TEST_P(marketplace_fault, gives_the_documented_action) {
  const auto& param = GetParam();
  sim_process sim(sim_args("400", "7"));
  auto values = settings_for(sim);
  values.backfill = 100;
  values.max_attempts = 4;  // the persistent cases queue exactly this many faults
  ASSERT_EQ(run_once(values).status, run::run_status::ok);
  auto before = stored_by_id();
  sim.publish(60);
  sim.set_faults(param.faults);

  auto summary = run_once(values);

  EXPECT_EQ(summary.status, param.expected_status) << summary.to_text();
  auto ledger = runs();
  ASSERT_FALSE(ledger.empty());
  EXPECT_EQ(ledger.front().status, std::string(run::to_string(param.expected_status)));
  if (param.expected_class.empty()) {
    EXPECT_FALSE(ledger.front().error_class.has_value());
    EXPECT_EQ(summary.postings_new, 60);
    EXPECT_EQ(stored_by_id().size(), before.size() + 60);
  } else {
    ASSERT_TRUE(summary.failure.has_value());
    EXPECT_EQ(ledger.front().error_class.value_or(""), param.expected_class);
    EXPECT_EQ(summary.failure->kind, parse_error_class(param.expected_class));
    // The watermark stayed, so the next run repairs what the failed one left out.
    auto repaired = run_once(values);
    EXPECT_EQ(repaired.status, run::run_status::ok) << repaired.to_text();
    EXPECT_EQ(stored_by_id().size(), before.size() + 60);
  }
}

nlohmann::json repeat(const nlohmann::json& fault, int times) {
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < times; ++i) list.push_back(fault);
  return list;
}

INSTANTIATE_TEST_SUITE_P(
    faults, marketplace_fault,
    ::testing::Values(
        fault_case{"expired_token", repeat({{"status", 401}}, 1), run::run_status::ok, ""},
        // Faults apply to token requests too: the pause lets the renewal through.
        fault_case{"rejected_twice",
                   {{{"status", 401}}, {{"kind", "slow"}, {"ms", 0}}, {{"status", 401}}},
                   run::run_status::failed, "auth"},
        fault_case{"token_endpoint_rejects_client", repeat({{"status", 401}}, 2),
                   run::run_status::failed, "config"},
        fault_case{"rate_limited", repeat({{"status", 429}, {"retry_after", 1}}, 1),
                   run::run_status::ok, ""},
        fault_case{"cloudflare_once", repeat({{"kind", "cloudflare"}}, 1), run::run_status::ok, ""},
        fault_case{"cloudflare_always", repeat({{"kind", "cloudflare"}}, 4),
                   run::run_status::blocked, "blocked"},
        fault_case{"truncated_body", repeat({{"kind", "truncate"}}, 1), run::run_status::ok, ""},
        fault_case{"graphql_error",
                   repeat({{"kind", "graphql_error"},
                           {"message", "Variable 'marketPlaceJobFilter' has an invalid value"}},
                          1),
                   run::run_status::failed, "bad_response"},
        fault_case{"connection_reset", repeat({{"kind", "reset"}}, 1), run::run_status::ok, ""},
        fault_case{"server_error_once", repeat({{"status", 500}}, 1), run::run_status::ok, ""},
        fault_case{"server_error_always", repeat({{"status", 500}}, 4), run::run_status::failed,
                   "transient"},
        fault_case{"pagination_500", repeat({{"kind", "marketplace_pagination_500"}}, 1),
                   run::run_status::ok, ""}),
    [](const auto& test_info) { return test_info.param.name; });

TEST_F(marketplace_run, expired_token_renews_through_rotated_refresh_token) {
  sim_process sim(sim_args("400", "10"));
  auto values = settings_for(sim);
  values.backfill = 50;
  ASSERT_EQ(run_once(values).status, run::run_status::ok);
  // The first grant used the initial refresh token, which the simulator has now voided.
  sim.expire_tokens();
  sim.publish(30);
  sim.reset_stats();

  auto summary = run_once(values);

  EXPECT_EQ(summary.status, run::run_status::ok) << summary.to_text();
  EXPECT_EQ(summary.postings_new, 30);
  EXPECT_EQ(sim.stats().token_requests, 1u) << "one renewal with the rotated refresh token";
  auto cached = open_for_inspection(store_url())
                    ->read_token(values.token_name + ":refresh", system_clock_source().now());
  ASSERT_TRUE(cached.ok());
  ASSERT_TRUE(cached->has_value());
  EXPECT_NE((*cached)->value.reveal(), initial_refresh_token);
}

TEST_F(marketplace_run, pagination_500_is_retried_inline_once) {
  sim_process sim(sim_args("400", "11"));
  auto values = settings_for(sim);
  values.backfill = 100;
  ASSERT_EQ(run_once(values).status, run::run_status::ok);  // caches the access token
  sim.publish(60);
  sim.reset_stats();
  sim.set_faults(repeat({{"kind", "marketplace_pagination_500"}}, 1));

  auto summary = run_once(values);

  EXPECT_EQ(summary.status, run::run_status::ok) << summary.to_text();
  EXPECT_EQ(summary.postings_new, 60);
  EXPECT_EQ(sim.stats().token_requests, 0u);
  // Every page once, plus the one inline retry of the first page.
  EXPECT_EQ(sim.stats().marketplace_requests, static_cast<std::uint64_t>(summary.pages) + 1);
}

TEST_F(marketplace_run, scope_error_fails_without_minting) {
  sim_process sim(sim_args("200", "8"));
  auto values = settings_for(sim);
  values.client_id = "noscope";
  values.client_secret = secret("noscope-secret");
  values.refresh_token = secret();
  values.backfill = 50;

  auto summary = run_once(values);

  EXPECT_EQ(summary.status, run::run_status::failed);
  ASSERT_TRUE(summary.failure.has_value());
  EXPECT_EQ(summary.failure->kind, error_class::scope);
  EXPECT_NE(summary.failure->message.find("Read marketplace Job Postings"), std::string::npos)
      << summary.failure->message;
  EXPECT_EQ(sim.stats().token_requests, 1u) << "a scope error must not mint again";
  EXPECT_EQ(sim.stats().marketplace_requests, 1u) << "a scope error must not be retried";
  ASSERT_FALSE(runs().empty());
  EXPECT_EQ(runs().front().error_class.value_or(""), "scope");
}

TEST_F(marketplace_run, missing_app_key_is_a_config_error) {
  sim_process sim(sim_args("100", "12"));
  auto values = settings_for(sim);
  values.client_id.clear();

  try {
    run::app fetcher(values);
    FAIL() << "expected a config error";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("UPWORK_CLIENT_ID"), std::string::npos) << e.what();
  }
  EXPECT_EQ(sim.stats().token_requests, 0u);
  EXPECT_EQ(sim.stats().marketplace_requests, 0u);
}

}  // namespace
}  // namespace job_fetcher::e2e
