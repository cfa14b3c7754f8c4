#include "run/retry.hpp"

#include <algorithm>
#include <cmath>

namespace job_fetcher::run {

std::chrono::milliseconds backoff_delay(const retry_policy& policy, int retry,
                                        std::mt19937_64& rng) {
  int exponent = std::clamp(retry - 1, 0, 30);
  auto ceiling = policy.base.count() * (std::int64_t{1} << exponent);
  ceiling = std::min<std::int64_t>(ceiling, policy.max.count());
  if (ceiling <= 0) return std::chrono::milliseconds{0};
  std::uniform_int_distribution<std::int64_t> pick(0, ceiling);
  return std::chrono::milliseconds{pick(rng)};
}

retry_decision decide_retry(const retry_policy& policy, const error& failure, int attempts_made,
                            std::chrono::steady_clock::time_point now,
                            std::chrono::steady_clock::time_point deadline, std::mt19937_64& rng) {
  if (!is_retryable(failure.kind) || attempts_made >= policy.max_attempts) return {};
  auto wait = backoff_delay(policy, attempts_made, rng);
  if (failure.retry_after && *failure.retry_after > wait) wait = *failure.retry_after;
  if (now + wait >= deadline) return {};
  return {true, wait};
}

rate_limiter::rate_limiter(clock_source& clock, double rate_per_second, int burst)
    : clock_(clock),
      rate_(rate_per_second),
      burst_(static_cast<double>(std::max(burst, 1))),
      tokens_(burst_),
      updated_(clock.steady_now()) {}

std::optional<std::chrono::milliseconds> rate_limiter::reserve(
    std::chrono::steady_clock::time_point deadline) {
  std::lock_guard lock(mutex_);
  auto now = clock_.steady_now();
  double elapsed = std::chrono::duration<double>(now - updated_).count();
  tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
  updated_ = now;
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return std::chrono::milliseconds{0};
  }
  auto wait = std::chrono::milliseconds{
      static_cast<std::int64_t>(std::ceil((1.0 - tokens_) / rate_ * 1000.0))};
  if (now + wait >= deadline) return std::nullopt;
  // The token is spoken for now; the balance goes negative until the wait has passed.
  tokens_ -= 1.0;
  return wait;
}

bool rate_limiter::acquire(std::chrono::steady_clock::time_point deadline) {
  auto wait = reserve(deadline);
  if (!wait) return false;
  if (wait->count() > 0) clock_.sleep_for(*wait);
  return true;
}

}  // namespace job_fetcher::run
