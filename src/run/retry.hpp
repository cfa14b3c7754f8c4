// Retry, backoff and rate limiting as small pure components: time comes from an injected
// clock_source, randomness from an injected generator, so tests never wait.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace job_fetcher::run {

struct retry_policy {
  int max_attempts = 4;                          // the first attempt included
  std::chrono::milliseconds base{500};           // cap of the first backoff
  std::chrono::milliseconds max{30'000};         // cap of any backoff
};

// Returns the wait before retry number `retry` (1 for the first retry): "full jitter", a uniform
// draw from [0, min(max, base * 2^(retry-1))], which spreads concurrent clients apart.
std::chrono::milliseconds backoff_delay(const retry_policy& policy, int retry, std::mt19937_64& rng);

// Decides what to do after a failed attempt.
struct retry_decision {
  bool retry = false;
  std::chrono::milliseconds wait{0};
};

// Retries retryable classes while attempts remain and the wait ends before `deadline`. A
// Retry-After from the server replaces the computed backoff when it is longer.
retry_decision decide_retry(const retry_policy& policy, const error& failure, int attempts_made,
                            std::chrono::steady_clock::time_point now,
                            std::chrono::steady_clock::time_point deadline, std::mt19937_64& rng);

// A token bucket: `rate` tokens per second up to `burst`. Thread-safe.
class rate_limiter {
 public:
  rate_limiter(clock_source& clock, double rate_per_second, int burst);

  // Waits (through the clock's sleep) until a token is available, or returns false without
  // waiting when the token would arrive after `deadline`.
  bool acquire(std::chrono::steady_clock::time_point deadline);

 private:
  // Returns the wait until a token is available and takes it, or nothing past the deadline.
  std::optional<std::chrono::milliseconds> reserve(std::chrono::steady_clock::time_point deadline);

  clock_source& clock_;
  double rate_;
  double burst_;
  double tokens_;
  std::chrono::steady_clock::time_point updated_;
  std::mutex mutex_;
};

}  // namespace job_fetcher::run
