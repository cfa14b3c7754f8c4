#include "run/retry.hpp"

#include <gtest/gtest.h>

#include "support/manual_clock.hpp"

namespace job_fetcher::run {
namespace {

using namespace std::chrono_literals;
using testing::manual_clock;

TEST(backoff_delay, stays_within_the_exponential_ceiling) {
  retry_policy policy{5, 100ms, 1000ms};
  std::mt19937_64 rng(7);
  for (int retry = 1; retry <= 6; ++retry) {
    auto ceiling = std::min<std::int64_t>(100 << (retry - 1), 1000);
    for (int i = 0; i < 200; ++i) {
      auto wait = backoff_delay(policy, retry, rng);
      EXPECT_GE(wait.count(), 0);
      EXPECT_LE(wait.count(), ceiling) << "retry " << retry;
    }
  }
}

TEST(backoff_delay, spreads_waits_with_full_jitter) {
  retry_policy policy{5, 1000ms, 1000ms};
  std::mt19937_64 rng(11);
  std::int64_t smallest = 1000, largest = 0;
  for (int i = 0; i < 500; ++i) {
    auto wait = backoff_delay(policy, 1, rng).count();
    smallest = std::min(smallest, wait);
    largest = std::max(largest, wait);
  }
  EXPECT_LT(smallest, 100);
  EXPECT_GT(largest, 900);
}

TEST(decide_retry, retries_transient_until_attempts_run_out) {
  retry_policy policy{3, 10ms, 100ms};
  std::mt19937_64 rng(1);
  auto now = std::chrono::steady_clock::time_point{};
  auto deadline = now + 1h;
  error failure = make_error(error_class::transient, "reset");
  EXPECT_TRUE(decide_retry(policy, failure, 1, now, deadline, rng).retry);
  EXPECT_TRUE(decide_retry(policy, failure, 2, now, deadline, rng).retry);
  EXPECT_FALSE(decide_retry(policy, failure, 3, now, deadline, rng).retry);
}

TEST(decide_retry, never_retries_setup_or_data_errors) {
  retry_policy policy;
  std::mt19937_64 rng(1);
  auto now = std::chrono::steady_clock::time_point{};
  for (auto kind : {error_class::scope, error_class::bad_response, error_class::config,
                    error_class::store, error_class::auth}) {
    EXPECT_FALSE(decide_retry(policy, make_error(kind, "x"), 1, now, now + 1h, rng).retry)
        << to_string(kind);
  }
}

TEST(decide_retry, honours_retry_after_over_backoff) {
  retry_policy policy{4, 10ms, 20ms};
  std::mt19937_64 rng(1);
  auto now = std::chrono::steady_clock::time_point{};
  error failure = make_error(error_class::rate_limited, "429");
  failure.retry_after = 7s;
  auto decision = decide_retry(policy, failure, 1, now, now + 1h, rng);
  EXPECT_TRUE(decision.retry);
  EXPECT_EQ(decision.wait, 7s);
}

TEST(decide_retry, gives_up_when_the_wait_passes_the_deadline) {
  retry_policy policy;
  std::mt19937_64 rng(1);
  auto now = std::chrono::steady_clock::time_point{};
  error failure = make_error(error_class::rate_limited, "429");
  failure.retry_after = 30s;
  EXPECT_FALSE(decide_retry(policy, failure, 1, now, now + 10s, rng).retry);
}

TEST(rate_limiter, allows_a_burst_then_paces) {
  manual_clock clock;
  rate_limiter limiter(clock, 2.0, 3);
  auto deadline = clock.steady_now() + 1h;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.acquire(deadline));
  EXPECT_TRUE(clock.sleeps().empty());
  EXPECT_TRUE(limiter.acquire(deadline));
  ASSERT_EQ(clock.sleeps().size(), 1u);
  EXPECT_EQ(clock.sleeps()[0], 500ms);
}

TEST(rate_limiter, refills_with_elapsed_time) {
  manual_clock clock;
  rate_limiter limiter(clock, 1.0, 1);
  auto deadline = clock.steady_now() + 1h;
  EXPECT_TRUE(limiter.acquire(deadline));
  clock.advance(1s);
  EXPECT_TRUE(limiter.acquire(deadline));
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(rate_limiter, refuses_a_token_past_the_deadline) {
  manual_clock clock;
  rate_limiter limiter(clock, 0.1, 1);
  EXPECT_TRUE(limiter.acquire(clock.steady_now() + 1h));
  EXPECT_FALSE(limiter.acquire(clock.steady_now() + 5s));
  EXPECT_TRUE(clock.sleeps().empty());
}

}  // namespace
}  // namespace job_fetcher::run
