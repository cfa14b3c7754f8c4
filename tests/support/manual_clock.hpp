// A clock for tests: time moves only when the code under test sleeps or the test advances it.
#pragma once

#include <mutex>
#include <vector>

#include "core/clock.hpp"

namespace job_fetcher::testing {

class manual_clock final : public clock_source {
 public:
  explicit manual_clock(timestamp start = timestamp{std::chrono::hours{24 * 365 * 55}})
      : now_(start) {}

  timestamp now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    std::lock_guard lock(mutex_);
    return std::chrono::steady_clock::time_point{} + elapsed_;
  }
  void sleep_for(std::chrono::milliseconds duration) override {
    std::lock_guard lock(mutex_);
    sleeps_.push_back(duration);
    now_ += duration;
    elapsed_ += duration;
  }
  void advance(std::chrono::milliseconds duration) {
    std::lock_guard lock(mutex_);
    now_ += duration;
    elapsed_ += duration;
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  mutable std::mutex mutex_;
  timestamp now_;
  std::chrono::milliseconds elapsed_{0};
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace job_fetcher::testing
