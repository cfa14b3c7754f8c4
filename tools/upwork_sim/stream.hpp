// Stream mode (--stream-day): a simulated day of Upwork traffic on a fast clock. New postings
// arrive at Upwork's pace with bursts and late publishing, others are renewed or deleted, and
// API requests fail at a configured rate.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog.hpp"
#include "faults.hpp"

namespace job_fetcher::upwork_sim {

// Simulated time: `start` plus the real time elapsed since construction times `speed`.
class sim_clock {
 public:
  sim_clock(sim_time start, double speed);
  sim_time now() const;
  sim_time start() const { return start_; }
  double speed() const { return speed_; }

 private:
  sim_time start_;
  double speed_;
  std::chrono::steady_clock::time_point real_start_;
};

struct day_options {
  std::size_t day_postings = 6000;  // new postings over the simulated day
  std::size_t bursts = 4;           // bursts of 150 to 300 postings within five minutes each
  double late_share = 0.25;         // share of postings that appear up to 60 s after their time
  std::size_t renewals = 300;
  std::size_t deletions = 150;
  std::uint64_t seed = 1;
};

// Plays a precomputed, seed-determined schedule of publish, renew and delete events against the
// catalog as the simulated clock passes each event. New postings are copies of the data set's
// records with new unique ids and ciphertexts, so any number of them fits one data file.
class day_stream {
 public:
  day_stream(catalog& jobs, const sim_clock& clock, day_options options);
  ~day_stream();
  day_stream(const day_stream&) = delete;
  day_stream& operator=(const day_stream&) = delete;

  // Starts the background thread that applies due events.
  void start();

  // {"now", "day_start", "day_end", "day_done", "events_applied", "events_total", "speed"}.
  nlohmann::ordered_json status() const;

 private:
  enum class event_kind { publish, renew, remove };
  struct event {
    sim_time at;         // when the event happens
    event_kind kind;
    sim_time publish_time;  // publish: the time the posting carries (at most 60 s before `at`)
    std::size_t source;     // publish: index of the record that is copied
  };

  void build_schedule();
  void run();
  void apply(const event& next);
  source_posting make_copy(std::size_t source);

  catalog& jobs_;
  const sim_clock& clock_;
  day_options options_;
  std::vector<event> schedule_;  // sorted by `at`
  std::atomic<std::size_t> applied_{0};
  std::uint64_t next_copy_ = 0;
  std::uint64_t id_base_ = 0;
  std::size_t data_postings_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Draws a fault for an API request with probability `rate`: 500, 503, 429, reset, truncated
// body, slow response or token expiry. Thread-safe.
class random_faults {
 public:
  random_faults(double rate, std::uint64_t seed);
  std::optional<fault> draw();
  double rate() const { return rate_; }

 private:
  double rate_;
  std::mutex mutex_;
  std::mt19937_64 rng_;
};

}  // namespace job_fetcher::upwork_sim
