// Runs through loopback forward proxies: credentials reach the proxy, a proxy that returns 407 or
// cannot be reached makes the retry use the next one, and no credential reaches a log or error.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "e2e/e2e_support.hpp"
#include "support/forward_proxy.hpp"

namespace job_fetcher::e2e {
namespace {

using doubles::sim_process;
using job_fetcher::testing::forward_proxy;

// "user:pw-good" in HTTP Basic encoding.
constexpr const char* good_credentials = "Basic dXNlcjpwdy1nb29k";

class proxy_run : public ::testing::Test {
 protected:
  std::string store_url() const { return "sqlite:" + (dir_.path() / "jobs.db").string(); }

  std::string write_list(const std::string& text) {
    auto path = dir_.path() / "proxies.txt";
    std::ofstream(path) << text;
    return path.string();
  }

  temp_dir dir_;
};

std::string line(const forward_proxy& proxy, const std::string& password) {
  return "127.0.0.1:" + std::to_string(proxy.port()) + ":user:" + password + "\n";
}

TEST_F(proxy_run, every_upwork_request_goes_through_the_proxy) {
  sim_process sim({"--published", "300", "--seed", "5"});
  forward_proxy proxy(good_credentials);
  auto values = sim_settings(sim, store_url());
  values.proxy_file = write_list(line(proxy, "pw-good"));
  values.backfill = 100;

  auto summary = run_once(values);

  ASSERT_EQ(summary.status, run::run_status::ok) << summary.to_text();
  EXPECT_EQ(summary.postings_new, 100);
  auto stats = sim.stats();
  // The home page (token) and both search pages went through the proxy.
  EXPECT_EQ(proxy.requests(), static_cast<int>(stats.home_requests + stats.visitor_requests));
  EXPECT_EQ(proxy.rejected(), 0);
}

TEST_F(proxy_run, rejecting_proxy_makes_retry_use_next) {
  sim_process sim({"--published", "300", "--seed", "6"});
  forward_proxy first(good_credentials);
  forward_proxy second(good_credentials);
  auto values = sim_settings(sim, store_url());
  // Both proxies are listed with a wrong password once and the right one once, so whatever the
  // random start, the rotation meets a 407 within every two requests.
  values.proxy_file = write_list(line(first, "pw-bad") + line(second, "pw-good") +
                                 line(second, "pw-bad") + line(first, "pw-good"));
  values.backfill = 200;
  values.max_attempts = 4;

  auto summary = run_once(values);

  ASSERT_EQ(summary.status, run::run_status::ok) << summary.to_text();
  EXPECT_EQ(summary.postings_new, 200);
  EXPECT_GT(first.rejected() + second.rejected(), 0);
  EXPECT_EQ(summary.to_text().find("pw-"), std::string::npos);
  EXPECT_EQ(summary.to_json().dump().find("pw-"), std::string::npos);
}

TEST_F(proxy_run, unreachable_proxy_makes_retry_use_next) {
  sim_process sim({"--published", "300", "--seed", "7"});
  forward_proxy working;
  // A proxy that is gone: its port was bound and released.
  int dead_port = 0;
  {
    forward_proxy gone;
    dead_port = gone.port();
  }
  auto values = sim_settings(sim, store_url());
  values.proxy_file = write_list("127.0.0.1:" + std::to_string(dead_port) + ":user:pw-dead\n" +
                                 "127.0.0.1:" + std::to_string(working.port()) + "\n");
  values.backfill = 150;

  auto summary = run_once(values);

  ASSERT_EQ(summary.status, run::run_status::ok) << summary.to_text();
  EXPECT_EQ(summary.postings_new, 150);
  EXPECT_GT(working.requests(), 0);
}

TEST_F(proxy_run, only_rejecting_proxies_end_blocked_without_credentials) {
  sim_process sim({"--published", "300", "--seed", "8"});
  forward_proxy proxy(good_credentials, true);
  auto values = sim_settings(sim, store_url());
  values.proxy_file = write_list(line(proxy, "pw-secret-value"));
  values.max_attempts = 3;

  auto result = run_binary({"run", "--json"},
                           {"JOB_FETCHER_STORE=" + store_url(),
                            "UPWORK_VISITOR_URL=" + values.visitor_url,
                            "UPWORK_HOME_URL=" + values.home_url,
                            "JOB_FETCHER_PROXY_FILE=" + values.proxy_file,
                            "JOB_FETCHER_MAX_ATTEMPTS=3", "JOB_FETCHER_BACKOFF_BASE=5ms",
                            "JOB_FETCHER_BACKOFF_MAX=10ms", "JOB_FETCHER_LOG_LEVEL=debug"});

  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_NE(result.out.find("blocked"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("pw-secret-value"), std::string::npos);
  EXPECT_EQ(result.err.find("pw-secret-value"), std::string::npos);
  EXPECT_GT(proxy.rejected(), 0);
}

}  // namespace
}  // namespace job_fetcher::e2e
