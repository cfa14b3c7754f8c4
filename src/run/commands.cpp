#include "run/commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "run/app.hpp"
#include "run/feeds.hpp"
#include "store/schema_postgres.hpp"

namespace job_fetcher::run {

namespace {

// Progress appears only on a terminal, and only once a run has paged more than a few times.
constexpr std::int64_t progress_after_pages = 3;

std::string posting_budget(const upwork::posting& p) {
  if (p.job_type == "hourly" && (p.hourly_min || p.hourly_max)) {
    return fmt::format("{}-{} {}/h", p.hourly_min.value_or("?"), p.hourly_max.value_or("?"),
                       p.currency);
  }
  if (p.fixed_budget) return fmt::format("{} {} fixed", *p.fixed_budget, p.currency);
  return p.job_type.value_or("-");
}

nlohmann::json posting_json(const store::stored_posting& row) {
  const auto& p = row.posting;
  auto optional = [](const std::optional<std::string>& v) -> nlohmann::json {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  return {{"id", p.id},
          {"link", p.link},
          {"title", p.title},
          {"skills", p.skills},
          {"job_type", optional(p.job_type)},
          {"hourly_min", optional(p.hourly_min)},
          {"hourly_max", optional(p.hourly_max)},
          {"fixed_budget", optional(p.fixed_budget)},
          {"currency", p.currency},
          {"contractor_tier", optional(p.contractor_tier)},
          {"published_at", format_timestamp(p.published_at)},
          {"source", p.source},
          {"feeds", row.feeds},
          {"revision", row.revision}};
}

// Opens (and migrates) the store of `fetcher`. On failure, prints the error and sets `exit_code`:
// 2 for a configuration error, 1 otherwise.
result<store::job_store*> open_store_for(app& fetcher, int& exit_code) {
  auto opened = fetcher.store();
  if (!opened) {
    std::fprintf(stderr, "job-fetcher: %s\n", opened.err().describe().c_str());
    exit_code = opened.err().kind == error_class::config ? 2 : 1;
  }
  return opened;
}

// The feed that --feed (or JOB_FETCHER_FEED) names, or nothing for every feed.
std::optional<std::string> named_feed(const settings& values) {
  if (!values.feed_named) return std::nullopt;
  return values.feed;
}

// Returns the newest published_at among the postings `feed` found.
result<std::optional<timestamp>> newest_of_feed(store::job_store& store, const std::string& feed) {
  auto rows = store.read_postings(1, feed);
  if (!rows) return std::move(rows).err();
  if (rows->empty()) return std::optional<timestamp>{};
  return std::optional<timestamp>{rows->front().posting.published_at};
}

// The settings for a command that only reads the store: a mistyped SQLite path is an error,
// not a new empty database.
settings reading(settings values) {
  values.store.read_only = true;
  return values;
}

}  // namespace

void configure_logging(const settings& values) {
  log::options opts;
  opts.min_level = log::parse_level(values.log_level).value_or(log::level::info);
  opts.json = values.log_format == "json";
  opts.stream = stderr;
  log::configure(opts);
}

namespace {

// Returns how bad a run status is, so `run --all` exits with the code of the worst one.
int status_severity(run_status status) {
  switch (status) {
    case run_status::ok: return 0;
    case run_status::skipped: return 1;
    case run_status::partial: return 2;
    case run_status::blocked: return 3;
    case run_status::failed: return 4;
  }
  return 4;
}

run_summary run_with_progress(app& fetcher) {
  run_overrides overrides;
  if (isatty(STDERR_FILENO) != 0) {
    overrides.on_page = [](std::int64_t pages, std::int64_t postings_new) {
      if (pages > progress_after_pages) {
        std::fprintf(stderr, "\rpage %lld, %lld new postings", static_cast<long long>(pages),
                     static_cast<long long>(postings_new));
      }
    };
  }
  auto summary = fetcher.run_feed(overrides);
  if (overrides.on_page && summary.pages > progress_after_pages) std::fputc('\n', stderr);
  return summary;
}

std::vector<const feed_definition*> chosen_feeds(const std::vector<feed_definition>& feeds,
                                                 const settings& values, bool all_feeds) {
  std::vector<const feed_definition*> chosen;
  if (all_feeds) {
    for (const auto& feed : feeds) chosen.push_back(&feed);
  } else {
    chosen.push_back(&select_feed(feeds, values.feed));
  }
  return chosen;
}

nlohmann::json optional_duration(std::optional<std::chrono::milliseconds> value) {
  if (!value || value->count() <= 0) return nullptr;
  return format_duration(*value);
}

nlohmann::json feed_json(const feed_definition& feed) {
  const auto& v = feed.values;
  return {{"name", feed.name},
          {"origin", feed.origin},
          {"source", v.source},
          {"query", v.query},
          {"page_size", v.page_size},
          {"backfill", v.backfill},
          {"max_pages", v.max_pages},
          {"retention", optional_duration(v.retention)},
          {"schedule", optional_duration(feed.schedule)},
          {"valid", feed.problems.empty()},
          {"problems", feed.problems}};
}

}  // namespace

int run_command(const settings& values, const command_options& options) {
  auto feeds = load_feeds(values);
  auto chosen = chosen_feeds(feeds, values, options.all_feeds);

  run_status worst = run_status::ok;
  bool setup_error = false;
  for (const auto* feed : chosen) {
    app fetcher(feed->values);
    auto summary = run_with_progress(fetcher);
    if (options.json) {
      std::puts(summary.to_json().dump().c_str());
    } else {
      std::puts(summary.to_text().c_str());
    }
    std::fflush(stdout);
    // A setting that only proves invalid when the store opens is still a setup error.
    if (summary.failure && summary.failure->kind == error_class::config) {
      std::fprintf(stderr, "job-fetcher: %s\n", summary.failure->message.c_str());
      setup_error = true;
    }
    if (status_severity(summary.status) > status_severity(worst)) worst = summary.status;
  }
  if (setup_error) return 2;
  return status_exit_code(worst);
}

int feeds_command(const settings& values, const command_options& options) {
  auto list = read_feeds(values);
  if (options.json) {
    nlohmann::json out = {{"file", list.file.empty() ? nlohmann::json(nullptr) : nlohmann::json(list.file)},
                          {"valid", list.valid()},
                          {"problems", list.problems},
                          {"feeds", nlohmann::json::array()}};
    for (const auto& feed : list.feeds) out["feeds"].push_back(feed_json(feed));
    std::puts(out.dump().c_str());
    return list.valid() ? 0 : 2;
  }

  std::printf("%s\n", list.file.empty() ? "one feed from the environment (no JOB_FETCHER_FEEDS)"
                                        : fmt::format("feeds of {}", list.file).c_str());
  for (const auto& problem : list.problems) std::printf("  error: %s\n", problem.c_str());
  std::printf("%-20s %-11s %-9s %-9s %-7s  %s\n", "feed", "source", "retention", "schedule",
              "status", "query");
  for (const auto& feed : list.feeds) {
    auto retention = optional_duration(feed.values.retention);
    auto schedule = optional_duration(feed.schedule);
    std::printf("%-20s %-11s %-9s %-9s %-7s  %s\n", feed.name.c_str(),
                feed.values.source.c_str(),
                retention.is_null() ? "off" : retention.get<std::string>().c_str(),
                schedule.is_null() ? "-" : schedule.get<std::string>().c_str(),
                feed.problems.empty() ? "valid" : "invalid",
                feed.values.query.empty() ? "(all postings)" : feed.values.query.c_str());
    for (const auto& problem : feed.problems) std::printf("  error: %s\n", problem.c_str());
  }
  return list.valid() ? 0 : 2;
}

int prune_command(const settings& values, const command_options& options) {
  auto feeds = load_feeds(values);
  std::vector<const feed_definition*> chosen;
  bool named = std::any_of(feeds.begin(), feeds.end(),
                           [&](const feed_definition& feed) { return feed.name == values.feed; });
  if (named || values.feed_named) {
    chosen.push_back(&select_feed(feeds, values.feed));
  } else {
    for (const auto& feed : feeds) chosen.push_back(&feed);
  }

  int exit_code = 0;
  int pruned_feeds = 0;
  for (const auto* feed : chosen) {
    if (feed->values.retention.count() <= 0) continue;
    ++pruned_feeds;
    app fetcher(feed->values);
    auto released = fetcher.prune();
    auto retention = format_duration(feed->values.retention);
    if (!released) {
      std::fprintf(stderr, "job-fetcher: feed %s: %s\n", feed->name.c_str(),
                   released.err().describe().c_str());
      exit_code = 1;
      continue;
    }
    if (options.json) {
      nlohmann::json line = {{"feed", feed->name}, {"retention", retention}, {"released", *released}};
      std::puts(line.dump().c_str());
    } else {
      std::printf("feed %s: released %lld postings not seen for %s\n", feed->name.c_str(),
                  static_cast<long long>(*released), retention.c_str());
    }
  }
  if (pruned_feeds == 0 && !options.json) {
    std::puts("no feed has a retention: set retention in the feeds file or JOB_FETCHER_RETENTION");
  }
  return exit_code;
}

int migrate_command(const settings& values, const command_options& options) {
  if (options.print_sql) {
    std::fputs(store::postgres_schema_sql().c_str(), stdout);
    return 0;
  }
  app fetcher(values);
  int exit_code = 0;
  if (!open_store_for(fetcher, exit_code)) return exit_code;
  std::puts("schema is up to date");
  return 0;
}

int status_command(const settings& values, const command_options& options) {
  app fetcher(reading(values));
  int exit_code = 0;
  auto opened = open_store_for(fetcher, exit_code);
  if (!opened) return exit_code;
  auto feed = named_feed(values);
  auto runs = (*opened)->recent_runs(feed, options.limit);
  auto newest = feed ? newest_of_feed(**opened, *feed) : (*opened)->newest_published_at();
  if (!runs || !newest) {
    std::fprintf(stderr, "job-fetcher: %s\n",
                 (!runs ? runs.err() : newest.err()).describe().c_str());
    return 1;
  }
  auto now = system_clock_source().now();
  std::optional<std::int64_t> freshness_s;
  if (*newest) {
    freshness_s = std::chrono::duration_cast<std::chrono::seconds>(now - **newest).count();
  }

  if (options.json) {
    nlohmann::json out = {{"newest_published_at", *newest ? nlohmann::json(format_timestamp(**newest))
                                                           : nlohmann::json(nullptr)},
                          {"freshness_seconds", freshness_s ? nlohmann::json(*freshness_s)
                                                            : nlohmann::json(nullptr)},
                          {"runs", nlohmann::json::array()}};
    for (const auto& r : *runs) {
      nlohmann::json row = {{"id", r.id},
                            {"feed", r.feed},
                            {"started_at", format_timestamp(r.started_at)},
                            {"status", r.status},
                            {"error_class", r.error_class ? nlohmann::json(*r.error_class)
                                                          : nlohmann::json(nullptr)},
                            {"error", r.error ? nlohmann::json(*r.error) : nlohmann::json(nullptr)},
                            {"api_requests", r.api_requests},
                            {"pages", r.pages},
                            {"postings_new", r.postings_new},
                            {"postings_updated", r.postings_updated},
                            {"gap", nullptr}};
      if (r.gap) {
        row["gap"] = {{"from", format_timestamp(r.gap->from)},
                      {"to", format_timestamp(r.gap->to)},
                      {"estimated_count", r.gap->estimated_count}};
      }
      out["runs"].push_back(row);
    }
    std::puts(out.dump().c_str());
    return 0;
  }

  if (freshness_s) {
    std::printf("newest posting: %s (%lld s ago)\n", format_timestamp(**newest).c_str(),
                static_cast<long long>(*freshness_s));
  } else {
    std::puts("no postings stored yet");
  }
  std::printf("%-6s %-12s %-24s %-8s %6s %6s %5s  %s\n", "run", "feed", "started", "status", "new",
              "reqs", "pages", "gap / error");
  for (const auto& r : *runs) {
    std::string note = r.error.value_or("");
    if (r.gap) note = fmt::format("gap of about {} postings", r.gap->estimated_count);
    std::printf("%-6lld %-12s %-24s %-8s %6lld %6lld %5lld  %s\n", static_cast<long long>(r.id),
                r.feed.c_str(), format_timestamp(r.started_at).c_str(), r.status.c_str(),
                static_cast<long long>(r.postings_new), static_cast<long long>(r.api_requests),
                static_cast<long long>(r.pages), note.c_str());
  }
  return 0;
}

int show_command(const settings& values, const command_options& options) {
  app fetcher(reading(values));
  int exit_code = 0;
  auto opened = open_store_for(fetcher, exit_code);
  if (!opened) return exit_code;
  auto rows = (*opened)->read_postings(options.limit, named_feed(values));
  if (!rows) {
    std::fprintf(stderr, "job-fetcher: %s\n", rows.err().describe().c_str());
    return 1;
  }
  for (const auto& row : *rows) {
    if (options.json) {
      std::puts(posting_json(row).dump().c_str());
      continue;
    }
    const auto& p = row.posting;
    std::string title = p.title.size() > 70 ? p.title.substr(0, 67) + "..." : p.title;
    std::printf("%s  %-70s  %s\n    %s\n", format_timestamp(p.published_at).c_str(),
                title.c_str(), posting_budget(p).c_str(), p.link.c_str());
  }
  if (!options.json) std::printf("(%zu postings shown)\n", rows->size());
  return 0;
}

int print_settings(const command_options& options) {
  if (options.markdown) {
    std::puts("| environment | flag | default | meaning |");
    std::puts("|---|---|---|---|");
  }
  for (const auto& spec : setting_specs()) {
    if (options.names_only) {
      std::puts(spec.env.c_str());
    } else if (options.markdown) {
      std::printf("| `%s` | %s | %s | %s |\n", spec.env.c_str(),
                  spec.flag.empty() ? "" : fmt::format("`--{}`", spec.flag).c_str(),
                  spec.default_text.empty() ? "" : fmt::format("`{}`", spec.default_text).c_str(),
                  spec.description.c_str());
    } else {
      std::printf("%-34s %s (default: %s)\n", spec.env.c_str(), spec.description.c_str(),
                  spec.default_text.empty() ? "none" : spec.default_text.c_str());
    }
  }
  return 0;
}

}  // namespace job_fetcher::run
