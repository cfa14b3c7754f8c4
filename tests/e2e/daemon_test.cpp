// `job-fetcher daemon`, end to end: the real binary on a schedule against upwork-sim, stopped
// by SIGTERM.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/e2e_support.hpp"

namespace job_fetcher::e2e {
namespace {

using namespace std::chrono_literals;
using doubles::sim_process;

// The run summaries the daemon printed with --json, oldest first.
std::vector<nlohmann::json> summaries(const std::string& out) {
  std::vector<nlohmann::json> found;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto object = nlohmann::json::parse(line, nullptr, false);
    if (object.is_object() && object.contains("status")) found.push_back(object);
  }
  return found;
}

// Waits until the daemon printed `count` summaries.
bool wait_for_summaries(fetcher_process& daemon, std::size_t count,
                        std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (summaries(daemon.out()).size() < count) {
    if (std::chrono::steady_clock::now() >= until || daemon.wait_exit(0ms)) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

class daemon_face : public ::testing::Test {
 protected:
  std::string store_url() const { return "sqlite:" + (dir_.path() / "jobs.db").string(); }

  std::vector<std::string> env_for(const sim_process& sim) const {
    return {"UPWORK_VISITOR_URL=" + sim.base_url() + "/api/graphql/v1?alias=visitorJobSearch",
            "UPWORK_HOME_URL=" + sim.base_url() + "/",
            "JOB_FETCHER_STORE=" + store_url(),
            "JOB_FETCHER_RATE=1000",
            "JOB_FETCHER_RATE_BURST=100",
            "JOB_FETCHER_BACKOFF_BASE=5ms",
            "JOB_FETCHER_BACKOFF_MAX=50ms",
            "JOB_FETCHER_BACKFILL=50"};
  }

  std::set<std::string> stored_ids() {
    auto db = open_for_inspection(store_url());
    std::set<std::string> ids;
    if (!db) return ids;
    auto rows = db->read_postings(100000);
    EXPECT_TRUE(rows.ok());
    if (!rows) return ids;
    for (const auto& row : *rows) {
      EXPECT_TRUE(ids.insert(row.posting.id).second) << "duplicate row " << row.posting.id;
    }
    return ids;
  }

  temp_dir dir_;
};

TEST_F(daemon_face, sigterm_mid_run_commits_page_and_loses_nothing) {
  sim_process sim({"--published", "300", "--latency-ms", "300"});
  auto env = env_for(sim);
  fetcher_process daemon({"daemon", "--every", "1s", "--json"}, env);
  ASSERT_TRUE(wait_for_summaries(daemon, 1, 10s)) << daemon.out() << daemon.err();
  auto first = summaries(daemon.out()).front();
  ASSERT_EQ(first["status"], "ok") << first.dump();
  ASSERT_EQ(first["postings_new"], 50);

  // 400 new postings take the next run 8 pages of 300 ms each.
  auto baseline = sim.stats().visitor_requests;
  sim.publish(400);
  auto published = sim.published_ids();
  std::vector<std::string> expected(published.begin(), published.begin() + 450);

  // SIGTERM while the second page of the next run is in flight.
  auto until = std::chrono::steady_clock::now() + 10s;
  while (sim.stats().visitor_requests < baseline + 2 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_GE(sim.stats().visitor_requests, baseline + 2) << daemon.err();
  auto signalled = std::chrono::steady_clock::now();
  daemon.signal(SIGTERM);
  auto exit_code = daemon.wait_exit(5s);
  auto stopping = std::chrono::steady_clock::now() - signalled;

  ASSERT_TRUE(exit_code.has_value()) << "the daemon kept running after SIGTERM";
  EXPECT_EQ(*exit_code, 0) << daemon.err();
  EXPECT_LT(stopping, 3s);
  auto printed = summaries(daemon.out());
  ASSERT_GE(printed.size(), 2u) << daemon.out();
  const auto& last = printed.back();
  EXPECT_EQ(last["status"], "partial") << last.dump();
  EXPECT_EQ(last["stop_reason"], "stopped") << last.dump();
  EXPECT_GT(last["postings_new"].get<int>(), 0) << last.dump();
  EXPECT_LT(last["postings_new"].get<int>(), 400) << last.dump();

  // What the summaries report as new is what the store holds: the current page was committed.
  std::int64_t reported_new = 0;
  for (const auto& summary : printed) reported_new += summary["postings_new"].get<std::int64_t>();
  auto after_daemon = stored_ids();
  EXPECT_EQ(static_cast<std::int64_t>(after_daemon.size()), reported_new);

  auto rerun = run_binary({"run", "--json"}, env);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  auto rerun_summary = nlohmann::json::parse(rerun.out);
  EXPECT_EQ(rerun_summary["status"], "ok");
  EXPECT_EQ(rerun_summary["postings_new"].get<std::int64_t>() + reported_new, 450)
      << "a posting was counted twice or lost";

  auto stored = stored_ids();
  for (const auto& id : expected) EXPECT_TRUE(stored.contains(id)) << "missing " << id;
  EXPECT_EQ(stored.size(), expected.size());
}

TEST_F(daemon_face, sigterm_after_failed_run_exits_nonzero) {
  sim_process sim({"--published", "100"});
  sim.set_faults({{{"status", 401}}, {{"status", 401}}});
  fetcher_process daemon({"daemon", "--every", "5s", "--json"}, env_for(sim));
  ASSERT_TRUE(wait_for_summaries(daemon, 1, 10s)) << daemon.out() << daemon.err();
  auto first = summaries(daemon.out()).front();
  ASSERT_EQ(first["status"], "failed") << first.dump();

  daemon.signal(SIGTERM);
  auto exit_code = daemon.wait_exit(3s);
  ASSERT_TRUE(exit_code.has_value()) << "the daemon kept sleeping after SIGTERM";
  EXPECT_EQ(*exit_code, 1);
}

TEST_F(daemon_face, sigterm_while_idle_exits_zero) {
  sim_process sim({"--published", "100"});
  fetcher_process daemon({"daemon", "--every", "5s", "--json"}, env_for(sim));
  ASSERT_TRUE(wait_for_summaries(daemon, 1, 10s)) << daemon.out() << daemon.err();
  ASSERT_EQ(summaries(daemon.out()).front()["status"], "ok");

  daemon.signal(SIGTERM);
  auto exit_code = daemon.wait_exit(3s);
  ASSERT_TRUE(exit_code.has_value()) << "the daemon kept sleeping after SIGTERM";
  EXPECT_EQ(*exit_code, 0);
  EXPECT_EQ(summaries(daemon.out()).size(), 1u) << "a run started after SIGTERM";
}

TEST_F(daemon_face, all_serves_every_feed_on_its_schedule) {
  sim_process sim({"--published", "300"});
  auto feeds_path = (dir_.path() / "feeds.toml").string();
  std::ofstream(feeds_path) << "[feeds.often]\nsource = \"visitor\"\nschedule = \"1s\"\n\n"
                               "[feeds.rarely]\nsource = \"visitor\"\nquery = \"python\"\n";
  auto env = env_for(sim);
  env.push_back("JOB_FETCHER_FEEDS=" + feeds_path);
  fetcher_process daemon({"daemon", "--all", "--every", "1h", "--json"}, env);

  ASSERT_TRUE(wait_for_summaries(daemon, 4, 15s)) << daemon.out() << daemon.err();
  daemon.signal(SIGTERM);
  ASSERT_TRUE(daemon.wait_exit(5s).has_value());

  std::map<std::string, int> runs_by_feed;
  for (const auto& summary : summaries(daemon.out())) {
    ++runs_by_feed[summary["feed"].get<std::string>()];
  }
  EXPECT_EQ(runs_by_feed["rarely"], 1) << "a feed on the 1h default ran twice";
  EXPECT_GE(runs_by_feed["often"], 3) << daemon.out();
}

}  // namespace
}  // namespace job_fetcher::e2e
