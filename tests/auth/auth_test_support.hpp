// Shared pieces of the auth tests: a manual clock, a temporary SQLite store, an in-process
// authenticator that counts its mints, and a check that errors carry no secret.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include <fmt/format.h>

#include "auth/authenticator.hpp"
#include "core/clock.hpp"
#include "store/factories.hpp"
#include "store/store.hpp"

namespace job_fetcher::auth::testing {

// A clock that moves only through advance() and sleep_for(). It counts the calls to sleep_for().
class manual_clock final : public clock_source {
 public:
  explicit manual_clock(timestamp start = timestamp(std::chrono::seconds(1'767'225'600)))
      : now_(start) {}

  timestamp now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    std::lock_guard lock(mutex_);
    return std::chrono::steady_clock::time_point(now_.time_since_epoch());
  }
  void sleep_for(std::chrono::milliseconds duration) override {
    std::lock_guard lock(mutex_);
    now_ += duration;
    ++sleeps_;
  }
  void advance(std::chrono::milliseconds duration) {
    std::lock_guard lock(mutex_);
    now_ += duration;
  }
  int sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  mutable std::mutex mutex_;
  timestamp now_;
  int sleeps_ = 0;
};

// A SQLite database file in the temporary folder, removed with its WAL files at the end.
class temp_database {
 public:
  temp_database() {
    std::random_device device;
    path_ = (std::filesystem::temp_directory_path() /
             fmt::format("job_fetcher_auth_{:x}.db", std::uniform_int_distribution<std::uint64_t>()(device)))
                .string();
  }
  ~temp_database() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::error_code ignored;
      std::filesystem::remove(path_ + suffix, ignored);
    }
  }
  temp_database(const temp_database&) = delete;
  temp_database& operator=(const temp_database&) = delete;

  const std::string& path() const { return path_; }

  // Opens a new store instance on the file and applies the schema.
  std::unique_ptr<store::job_store> open() const {
    auto opened = store::make_sqlite_store(path_);
    if (!opened) {
      ADD_FAILURE() << opened.err().describe();
      return nullptr;
    }
    auto migrated = (*opened)->migrate();
    if (!migrated) ADD_FAILURE() << migrated.err().describe();
    return std::move(opened.value());
  }

 private:
  std::string path_;
};

// An in-process authenticator that mints "minted-N" tokens valid for `lifetime`, or fails.
class counting_authenticator final : public authenticator {
 public:
  explicit counting_authenticator(clock_source& clock,
                                  std::chrono::seconds lifetime = std::chrono::seconds(3600))
      : clock_(clock), lifetime_(lifetime) {}

  result<minted_token> mint() override {
    int n = ++calls_;
    if (fail_) return make_error(error_class::auth, "authenticator test failure");
    return minted_token{secret(fmt::format("minted-{}", n)), clock_.now() + lifetime_};
  }

  int calls() const { return calls_; }
  void fail(bool value) { fail_ = value; }

 private:
  clock_source& clock_;
  std::chrono::seconds lifetime_;
  std::atomic<int> calls_{0};
  std::atomic<bool> fail_{false};
};

// Fails the test when the error's text contains any of the secrets.
inline void expect_no_secrets(const error& e, std::initializer_list<std::string> secrets) {
  std::string text = e.describe() + " " + e.url + " " + e.json_path;
  for (const auto& value : secrets) {
    EXPECT_EQ(text.find(value), std::string::npos) << "error reveals a secret: " << text;
  }
}

inline std::int64_t epoch_seconds(timestamp at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

}  // namespace job_fetcher::auth::testing
