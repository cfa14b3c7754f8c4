// End-to-end runs of the visitor source against upwork-sim serving the real postings.
#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "e2e/e2e_support.hpp"
#include "doubles/fixtures/posting_fixtures.hpp"
#include "upwork/normalize.hpp"

namespace job_fetcher::e2e {
namespace {

using namespace std::chrono_literals;
using doubles::sim_process;

// Runs each behaviour on every store backend.
class store_fixture : public ::testing::Test {
 protected:
  virtual std::string backend() const = 0;

  void SetUp() override {
    target_ = std::make_unique<store_target>(backend());
    if (!target_->unavailable_reason().empty()) GTEST_SKIP() << target_->unavailable_reason();
  }

  run::settings settings_for(const sim_process& sim) const {
    auto values = sim_settings(sim, "");
    target_->apply(values);
    return values;
  }

  std::unique_ptr<store::job_store> inspect() const { return target_->inspect(); }

  std::map<std::string, store::stored_posting> stored_by_id() {
    auto rows = inspect()->read_postings(100000);
    EXPECT_TRUE(rows.ok());
    std::map<std::string, store::stored_posting> by_id;
    for (auto& row : *rows) by_id.emplace(row.posting.id, row);
    return by_id;
  }

  std::vector<store::run_record> runs() {
    auto rows = inspect()->recent_runs(std::nullopt, 100);
    EXPECT_TRUE(rows.ok());
    return *rows;
  }

  std::unique_ptr<store_target> target_;
};

class visitor_run : public store_fixture, public ::testing::WithParamInterface<std::string> {
 protected:
  std::string backend() const override { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(stores, visitor_run, ::testing::ValuesIn(e2e_store_backends()),
                         [](const auto& test_info) { return test_info.param; });

// Builds the posting the store must hold for a posting the simulator serves.
upwork::posting expected_from_sim(sim_process& sim, const std::string& id) {
  auto served = sim.posting(id);
  auto published = parse_timestamp(served["publish_time"].get<std::string>());
  auto expected = fixtures::expected_posting(served["record"], "visitor", published.value());
  expected.created_at = parse_timestamp(served["create_time"].get<std::string>());
  expected.content_hash = upwork::content_hash(expected);
  return expected;
}

TEST_P(visitor_run, first_run_stores_exactly_the_newest_backfill) {
  sim_process sim({"--published", "2000", "--seed", "3"});
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
  EXPECT_EQ(stats.visitor_requests, 10u);
  EXPECT_EQ(stats.home_requests, 1u);
  EXPECT_EQ(summary.postings_new, 500);
}

TEST_P(visitor_run, second_run_without_news_sends_one_request) {
  sim_process sim({"--published", "2000", "--seed", "4"});
  auto values = settings_for(sim);
  ASSERT_EQ(run_once(values).status, run::run_status::ok);
  sim.reset_stats();

  auto summary = run_once(values);

  EXPECT_EQ(summary.status, run::run_status::ok);
  EXPECT_EQ(sim.stats().visitor_requests, 1u);
  EXPECT_EQ(sim.stats().home_requests, 0u) << "the cached token must be reused";
  EXPECT_EQ(summary.postings_new, 0);
  EXPECT_EQ(summary.postings_updated, 0);
}

TEST_P(visitor_run, published_batch_is_stored_with_few_requests) {
  sim_process sim({"--published", "2000", "--seed", "5"});
  auto values = settings_for(sim);
  ASSERT_EQ(run_once(values).status, run::run_status::ok);
  ASSERT_EQ(sim.publish(120), 120u);
  sim.reset_stats();

  auto summary = run_once(values);

  EXPECT_EQ(summary.status, run::run_status::ok);
  EXPECT_EQ(summary.postings_new, 120);
  EXPECT_LE(sim.stats().visitor_requests, 4u);
  auto stored = stored_by_id();
  auto published = sim.published_ids();
  for (std::size_t i = 0; i < 120; ++i) EXPECT_TRUE(stored.contains(published[i])) << published[i];
}

TEST_P(visitor_run, changes_between_pages_lose_nothing) {
  sim_process sim({"--published", "2000", "--seed", "6", "--latency-ms", "150"});
  auto values = settings_for(sim);
  values.backfill = 300;
  ASSERT_EQ(run_once(values).status, run::run_status::ok);
  auto watermark = inspect()->load_watermark("default");
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
    if (published_at <= (*watermark)->at) continue;
    EXPECT_TRUE(stored.contains(id)) << "missing " << id << " published "
                                     << served["publish_time"];
  }
}

TEST_P(visitor_run, runs_started_together_do_not_overlap) {
  sim_process sim({"--published", "2000", "--seed", "10", "--latency-ms", "50"});
  auto values = settings_for(sim);

  run::run_summary first, second;
  std::thread a([&] { first = run_once(values); });
  std::thread b([&] { second = run_once(values); });
  a.join();
  b.join();

  std::multiset<run::run_status> statuses{first.status, second.status};
  EXPECT_EQ(statuses.count(run::run_status::ok), 1u) << first.to_text() << "\n" << second.to_text();
  EXPECT_EQ(statuses.count(run::run_status::skipped), 1u);
  auto rows = inspect()->read_postings(100000);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 500u);
  EXPECT_EQ(stored_by_id().size(), rows->size()) << "a posting is stored twice";
}

struct fault_case {
  std::string name;
  nlohmann::json faults;
  run::run_status expected_status;
  std::string expected_class;  // empty when the run succeeds
};

class visitor_fault : public store_fixture,
                      public ::testing::WithParamInterface<std::tuple<std::string, fault_case>> {
 protected:
  std::string backend() const override { return std::get<0>(GetParam()); }
};

TEST_P(visitor_fault, gives_the_documented_action) {
  const auto& param = std::get<1>(GetParam());
  sim_process sim({"--published", "400", "--seed", "7"});
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
  } else {
    EXPECT_EQ(ledger.front().error_class.value_or(""), param.expected_class);
    EXPECT_EQ(summary.failure->kind, parse_error_class(param.expected_class));
    // No page after the failure was written and the watermark stayed: the next run repairs.
    auto after_failure = stored_by_id();
    EXPECT_LE(after_failure.size(), before.size() + 60);
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
    faults, visitor_fault,
    ::testing::Combine(::testing::ValuesIn(e2e_store_backends()), ::testing::Values(
        fault_case{"expired_token", repeat({{"status", 401}}, 1), run::run_status::ok, ""},
        fault_case{"rejected_twice", repeat({{"status", 401}}, 2), run::run_status::failed, "auth"},
        fault_case{"rate_limited", repeat({{"status", 429}, {"retry_after", 1}}, 1),
                   run::run_status::ok, ""},
        fault_case{"cloudflare_once", repeat({{"kind", "cloudflare"}}, 1), run::run_status::ok, ""},
        fault_case{"cloudflare_always", repeat({{"kind", "cloudflare"}}, 4),
                   run::run_status::blocked, "blocked"},
        fault_case{"truncated_body", repeat({{"kind", "truncate"}}, 1), run::run_status::ok, ""},
        fault_case{"graphql_error",
                   repeat({{"kind", "graphql_error"}, {"message", "Variable 'x' has an invalid value"}}, 1),
                   run::run_status::failed, "bad_response"},
        fault_case{"connection_reset", repeat({{"kind", "reset"}}, 1), run::run_status::ok, ""},
        fault_case{"server_error_once", repeat({{"status", 500}}, 1), run::run_status::ok, ""},
        fault_case{"server_error_always", repeat({{"status", 500}}, 4), run::run_status::failed,
                   "transient"})),
    [](const auto& test_info) {
      return std::get<0>(test_info.param) + "_" + std::get<1>(test_info.param).name;
    });

TEST_P(visitor_run, scope_error_fails_without_minting) {
  sim_process sim({"--published", "200", "--seed", "8"});
  auto values = settings_for(sim);
  values.backfill = 50;
  ASSERT_EQ(run_once(values).status, run::run_status::ok);
  sim.set_faults(repeat({{"kind", "graphql_error"},
                         {"message", "The client or authentication token doesn't have enough "
                                     "oauth2 permissions/scopes to access: [totalApplicants]."},
                         {"classification", "ExecutionAborted"}},
                        1));
  sim.reset_stats();

  auto summary = run_once(values);

  EXPECT_EQ(summary.status, run::run_status::failed);
  ASSERT_TRUE(summary.failure.has_value());
  EXPECT_EQ(summary.failure->kind, error_class::scope);
  EXPECT_EQ(sim.stats().home_requests, 0u);
  EXPECT_EQ(sim.stats().visitor_requests, 1u);
}

TEST_P(visitor_run, max_pages_records_a_gap_and_keeps_the_watermark) {
  sim_process sim({"--published", "1000", "--seed", "9"});
  auto values = settings_for(sim);
  values.backfill = 100;
  ASSERT_EQ(run_once(values).status, run::run_status::ok);
  auto before = inspect()->load_watermark("default");
  sim.publish(200);
  values.max_pages = 2;

  auto summary = run_once(values);

  EXPECT_EQ(summary.status, run::run_status::partial);
  ASSERT_TRUE(summary.gap.has_value());
  EXPECT_GT(summary.gap->estimated_count, 0);
  EXPECT_EQ(*inspect()->load_watermark("default"), *before);
  ASSERT_FALSE(runs().empty());
  EXPECT_TRUE(runs().front().gap.has_value());

  values.max_pages = 100;
  auto closing = run_once(values);
  EXPECT_EQ(closing.status, run::run_status::ok);
  EXPECT_EQ(stored_by_id().size(), 300u);
}

// A backfill of 0 starts the feed now: the first run stores nothing but sets the watermark, so
// the next run stores what was published since.
TEST(run_limits, backfill_zero_starts_feed_now) {
  temp_dir dir;
  sim_process sim({"--published", "300"});
  auto values = sim_settings(sim, "sqlite:" + (dir.path() / "jobs.db").string());
  values.backfill = 0;

  auto first = run_once(values);
  sim.publish(30);
  auto second = run_once(values);

  EXPECT_EQ(first.status, run::run_status::ok) << first.to_text();
  EXPECT_EQ(first.postings_new, 0);
  EXPECT_EQ(second.status, run::run_status::ok) << second.to_text();
  // The 30 new ones, plus older ones within the skew below the watermark (2 minutes).
  EXPECT_GE(second.postings_new, 30);
  EXPECT_LT(second.postings_new, 50);
  auto stored = open_for_inspection(values.store)->read_postings(1000);
  EXPECT_EQ(static_cast<std::int64_t>(stored->size()), second.postings_new);
}

// The run's own limits end it partial with a gap, like max_pages, and the next run closes the
// gap. Neither is a failure of Upwork, and retrying cannot help.
TEST(run_limits, request_budget_ends_partial) {
  temp_dir dir;
  sim_process sim({"--published", "600"});
  auto values = sim_settings(sim, "sqlite:" + (dir.path() / "jobs.db").string());
  values.backfill = 500;
  values.request_budget = 3;

  auto summary = run_once(values);

  EXPECT_EQ(summary.status, run::run_status::partial) << summary.to_text();
  EXPECT_EQ(summary.stop_reason, "request_budget");
  EXPECT_EQ(summary.pages, 3);
  EXPECT_FALSE(summary.failure.has_value()) << summary.to_text();
  ASSERT_TRUE(summary.gap.has_value());

  values.request_budget = 400;
  auto closing = run_once(values);
  EXPECT_EQ(closing.status, run::run_status::ok) << closing.to_text();
  EXPECT_EQ(open_for_inspection(values.store)->read_postings(1000)->size(), 500u);
}

TEST(run_limits, rate_limit_before_deadline_ends_partial) {
  temp_dir dir;
  sim_process sim({"--published", "600"});
  auto values = sim_settings(sim, "sqlite:" + (dir.path() / "jobs.db").string());
  values.backfill = 500;
  values.rate_per_second = 2.0;  // a request every 500 ms after the burst
  values.rate_burst = 1;
  values.deadline = 2500ms;
  values.safety_margin = 500ms;

  auto started = std::chrono::steady_clock::now();
  auto summary = run_once(values);
  auto took = std::chrono::steady_clock::now() - started;

  EXPECT_EQ(summary.status, run::run_status::partial) << summary.to_text();
  EXPECT_EQ(summary.stop_reason, "deadline");
  EXPECT_FALSE(summary.failure.has_value()) << summary.to_text();
  EXPECT_TRUE(summary.gap.has_value());
  EXPECT_GT(summary.pages, 0);
  EXPECT_LT(summary.pages, 10);
  EXPECT_LT(took, 2500ms);
}

}  // namespace
}  // namespace job_fetcher::e2e
