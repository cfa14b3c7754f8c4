#include "stream.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace job_fetcher::upwork_sim {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds day_length{24 * 60 * 60 * 1000};
constexpr milliseconds burst_length{5 * 60 * 1000};
constexpr milliseconds max_lateness{60 * 1000};

}  // namespace

sim_clock::sim_clock(sim_time start, double speed)
    : start_(start), speed_(speed), real_start_(std::chrono::steady_clock::now()) {}

sim_time sim_clock::now() const {
  const auto real = std::chrono::steady_clock::now() - real_start_;
  const double real_ms = std::chrono::duration<double, std::milli>(real).count();
  return start_ + milliseconds{static_cast<std::int64_t>(real_ms * speed_)};
}

day_stream::day_stream(catalog& jobs, const sim_clock& clock, day_options options)
    : jobs_(jobs), clock_(clock), options_(options), data_postings_(jobs.posting_count()) {
  build_schedule();
}

day_stream::~day_stream() {
  stop_ = true;
  if (thread_.joinable()) {
    thread_.join();
  }
}

void day_stream::build_schedule() {
  std::mt19937_64 rng(options_.seed ^ 0xda7ULL);
  // Copied postings get ids "2" + 18 digits: a seed-dependent base plus a counter, unlike the
  // data file's ids, which start with "1".
  id_base_ = (rng() % 1'000'000'000ULL) * 1'000'000ULL;

  const sim_time start = clock_.start();
  std::uniform_int_distribution<std::int64_t> in_day(0, day_length.count() - 1);
  std::uniform_int_distribution<std::int64_t> in_burst(0, burst_length.count() - 1);
  std::uniform_int_distribution<std::size_t> burst_size(150, 300);
  std::uniform_int_distribution<std::size_t> record(0, std::max<std::size_t>(data_postings_, 1) - 1);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<std::int64_t> lateness(1'000, max_lateness.count());

  std::vector<sim_time> publish_times;
  for (std::size_t b = 0; b < options_.bursts && publish_times.size() < options_.day_postings;
       ++b) {
    const sim_time burst_start =
        start + milliseconds{in_day(rng) % (day_length - burst_length).count()};
    const std::size_t size =
        std::min(burst_size(rng), options_.day_postings - publish_times.size());
    for (std::size_t i = 0; i < size; ++i) {
      publish_times.push_back(burst_start + milliseconds{in_burst(rng)});
    }
  }
  while (publish_times.size() < options_.day_postings) {
    publish_times.push_back(start + milliseconds{in_day(rng)});
  }

  for (sim_time publish_time : publish_times) {
    // A late posting becomes visible after its publish time, below newer ones.
    const sim_time at =
        unit(rng) < options_.late_share ? publish_time + milliseconds{lateness(rng)} : publish_time;
    schedule_.push_back({at, event_kind::publish, publish_time, record(rng)});
  }
  for (std::size_t i = 0; i < options_.renewals; ++i) {
    schedule_.push_back({start + milliseconds{in_day(rng)}, event_kind::renew, {}, 0});
  }
  for (std::size_t i = 0; i < options_.deletions; ++i) {
    schedule_.push_back({start + milliseconds{in_day(rng)}, event_kind::remove, {}, 0});
  }
  std::stable_sort(schedule_.begin(), schedule_.end(),
                   [](const event& a, const event& b) { return a.at < b.at; });
}

void day_stream::start() {
  thread_ = std::thread([this] { run(); });
}

void day_stream::run() {
  std::size_t next = 0;
  while (!stop_ && next < schedule_.size()) {
    const sim_time now = clock_.now();
    while (next < schedule_.size() && schedule_[next].at <= now) {
      apply(schedule_[next]);
      ++next;
      applied_ = next;
    }
    std::this_thread::sleep_for(milliseconds{2});
  }
}

void day_stream::apply(const event& next) {
  switch (next.kind) {
    case event_kind::publish: {
      const std::size_t index = jobs_.add_posting(make_copy(next.source));
      jobs_.publish_at(index, next.publish_time, next.at);
      break;
    }
    case event_kind::renew:
      jobs_.renew(1, next.at);
      break;
    case event_kind::remove:
      jobs_.remove(1, next.at);
      break;
  }
}

source_posting day_stream::make_copy(std::size_t source) {
  source_posting copy = jobs_.posting_at(source);
  const std::uint64_t number = id_base_ + next_copy_++;
  copy.id = fmt::format("2{:018d}", number);
  copy.ciphertext = "~02" + copy.id;
  auto record = nlohmann::ordered_json::parse(copy.raw_line);
  record["id"] = copy.id;
  record["ciphertext"] = copy.ciphertext;
  copy.raw_line = record.dump();
  return copy;
}

nlohmann::ordered_json day_stream::status() const {
  const sim_time now = clock_.now();
  const sim_time end = clock_.start() + day_length;
  return {
      {"now", format_visitor_time(now)},
      {"day_start", format_visitor_time(clock_.start())},
      {"day_end", format_visitor_time(end)},
      {"day_done", applied_.load() >= schedule_.size() && now >= end},
      {"events_applied", applied_.load()},
      {"events_total", schedule_.size()},
      {"speed", clock_.speed()},
  };
}

random_faults::random_faults(double rate, std::uint64_t seed) : rate_(rate), rng_(seed ^ 0xfa17ULL) {}

std::optional<fault> random_faults::draw() {
  if (rate_ <= 0.0) {
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (unit(rng_) >= rate_) {
    return std::nullopt;
  }
  fault chosen;
  switch (std::uniform_int_distribution<int>(0, 6)(rng_)) {
    case 0:
      chosen.kind = fault_kind::status;
      chosen.status = 500;
      break;
    case 1:
      chosen.kind = fault_kind::status;
      chosen.status = 503;
      break;
    case 2:
      chosen.kind = fault_kind::status;
      chosen.status = 429;
      chosen.retry_after_seconds = 1;
      break;
    case 3:
      chosen.kind = fault_kind::reset;
      break;
    case 4:
      chosen.kind = fault_kind::truncate;
      break;
    case 5:
      chosen.kind = fault_kind::slow;
      chosen.ms = std::uniform_int_distribution<int>(200, 1500)(rng_);
      break;
    default:
      chosen.kind = fault_kind::expire_tokens;
      break;
  }
  return chosen;
}

}  // namespace job_fetcher::upwork_sim
