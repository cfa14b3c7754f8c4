#include <csignal>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "core/log.hpp"
#include "run/app.hpp"
#include "run/commands.hpp"
#include "run/feeds.hpp"

namespace job_fetcher::run {

namespace {

std::atomic<bool> stop_signal{false};

extern "C" void request_stop(int) { stop_signal.store(true); }

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

// Sleeps in short steps so a stop signal ends the wait promptly.
void sleep_unless_stopped(std::chrono::milliseconds duration) {
  constexpr std::chrono::milliseconds step{100};
  auto until = std::chrono::steady_clock::now() + duration;
  while (!stop_signal.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
        step, std::chrono::duration_cast<std::chrono::milliseconds>(
                  until - std::chrono::steady_clock::now())));
  }
}

}  // namespace

namespace {

// One feed the daemon serves, with its period and the steady time of its next run.
struct scheduled_feed {
  std::string name;
  std::chrono::milliseconds period{0};
  std::chrono::steady_clock::time_point due{};
};

std::vector<scheduled_feed> make_schedule(const std::vector<feed_definition>& feeds,
                                          const command_options& options,
                                          const std::string& chosen,
                                          std::chrono::milliseconds every) {
  std::vector<scheduled_feed> schedule;
  auto now = std::chrono::steady_clock::now();
  for (const auto& feed : feeds) {
    if (!options.all_feeds && feed.name != chosen) continue;
    schedule.push_back({feed.name, feed.schedule.value_or(every), now});
  }
  return schedule;
}

}  // namespace

int daemon_command(const settings& values, const command_options& options) {
  auto every = parse_duration(options.every);
  if (!every || every->count() <= 0) {
    throw config_error(fmt::format(
        "invalid --every \"{}\": expected a duration with a unit, such as 5m or 30s",
        options.every));
  }
  install_stop_handlers();
  // With a feeds file the daemon serves the feed --feed names (or the file's only feed), or with
  // --all every feed, each on its own `schedule` (default: --every).
  auto feeds = load_feeds(values);
  std::string chosen = options.all_feeds ? "" : select_feed(feeds, values.feed).name;
  feed_apps apps(feeds);
  auto schedule = make_schedule(apps.feeds(), options, chosen, *every);
  std::mt19937_64 rng{std::random_device{}()};

  log::info("daemon", "started", {{"every_ms", every->count()}, {"feeds", schedule.size()}});
  run_status last_status = run_status::ok;
  while (!stop_signal.load()) {
    // The feed due first runs next; ties go to the earlier feed of the file.
    auto next = std::min_element(schedule.begin(), schedule.end(),
                                 [](const auto& a, const auto& b) { return a.due < b.due; });
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        next->due - std::chrono::steady_clock::now());
    if (wait.count() > 0) {
      sleep_unless_stopped(wait);
      continue;
    }

    auto started = std::chrono::steady_clock::now();
    run_overrides overrides;
    overrides.stop_requested = [] { return stop_signal.load(); };
    auto summary = apps.get(next->name).run_feed(overrides);
    last_status = summary.status;
    std::puts(options.json ? summary.to_json().dump().c_str() : summary.to_text().c_str());
    std::fflush(stdout);

    // Up to a tenth of the period of jitter keeps many daemons from hitting Upwork in step.
    std::uniform_int_distribution<std::int64_t> jitter(0, next->period.count() / 10);
    next->due = started + next->period + std::chrono::milliseconds{jitter(rng)};
  }
  log::info("daemon", "stopped by signal, the current page was committed");
  // A last run cut short by the signal ends partial, and one that met a held lease ends skipped,
  // so both are a normal stop. Only a failed or blocked last run makes the exit code non-zero.
  bool last_failed = last_status == run_status::failed || last_status == run_status::blocked;
  return last_failed ? status_exit_code(last_status) : 0;
}

}  // namespace job_fetcher::run
