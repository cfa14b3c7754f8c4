#include "run/commands.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "run/app.hpp"
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

}  // namespace

void configure_logging(const settings& values) {
  log::options opts;
  opts.min_level = log::parse_level(values.log_level).value_or(log::level::info);
  opts.json = values.log_format == "json";
  opts.stream = stderr;
  log::configure(opts);
}

int run_command(const settings& values, const command_options& options) {
  app fetcher(values);
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
  if (options.json) {
    std::puts(summary.to_json().dump().c_str());
  } else {
    std::puts(summary.to_text().c_str());
  }
  // A setting that only proves invalid when the store opens is still a setup error.
  if (summary.failure && summary.failure->kind == error_class::config) {
    std::fprintf(stderr, "job-fetcher: %s\n", summary.failure->message.c_str());
    return 2;
  }
  return status_exit_code(summary.status);
}

int migrate_command(const settings& values, const command_options& options) {
  if (options.print_sql) {
    std::fputs(store::postgres_schema_sql().c_str(), stdout);
    return 0;
  }
  app fetcher(values);
  auto opened = fetcher.store();
  if (!opened) {
    std::fprintf(stderr, "job-fetcher: %s\n", opened.err().describe().c_str());
    return 1;
  }
  std::puts("schema is up to date");
  return 0;
}

int status_command(const settings& values, const command_options& options) {
  app fetcher(values);
  auto opened = fetcher.store();
  if (!opened) {
    std::fprintf(stderr, "job-fetcher: %s\n", opened.err().describe().c_str());
    return 1;
  }
  auto runs = (*opened)->recent_runs(std::nullopt, options.limit);
  auto newest = (*opened)->newest_published_at();
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
  app fetcher(values);
  auto opened = fetcher.store();
  if (!opened) {
    std::fprintf(stderr, "job-fetcher: %s\n", opened.err().describe().c_str());
    return 1;
  }
  auto rows = (*opened)->read_postings(options.limit);
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
