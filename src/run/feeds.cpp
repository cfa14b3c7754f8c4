#include "run/feeds.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "core/error.hpp"
#include "run/app.hpp"

namespace job_fetcher::run {

namespace {

constexpr std::size_t max_feed_name_length = 64;

// A key of a feed table and the setting that parses its value (empty: handled here).
struct feed_key {
  std::string_view name;
  std::string_view setting_env;
  bool list;  // a TOML array of strings is accepted and joined with commas
};

constexpr std::array<feed_key, 15> feed_keys{{
    {"source", "UPWORK_SOURCE", false},
    {"query", "JOB_FETCHER_QUERY", false},
    {"job_type", "JOB_FETCHER_JOB_TYPE", false},
    {"contractor_tier", "JOB_FETCHER_CONTRACTOR_TIER", true},
    {"workload", "JOB_FETCHER_WORKLOAD", true},
    {"duration", "JOB_FETCHER_DURATION", true},
    {"client_hires", "JOB_FETCHER_CLIENT_HIRES", true},
    {"hourly_rate", "JOB_FETCHER_HOURLY_RATE", false},
    {"budget", "JOB_FETCHER_BUDGET", false},
    {"location", "JOB_FETCHER_LOCATION", true},
    {"page_size", "JOB_FETCHER_PAGE_SIZE", false},
    {"backfill", "JOB_FETCHER_BACKFILL", false},
    {"max_pages", "JOB_FETCHER_MAX_PAGES", false},
    {"retention", "JOB_FETCHER_RETENTION", false},
    {"schedule", "", false},
}};

std::string valid_key_names() {
  std::vector<std::string_view> names;
  for (const auto& key : feed_keys) names.push_back(key.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

const feed_key* find_key(std::string_view name) {
  for (const auto& key : feed_keys) {
    if (key.name == name) return &key;
  }
  return nullptr;
}

const setting_spec& spec_for(std::string_view env) {
  for (const auto& spec : setting_specs()) {
    if (spec.env == env) return spec;
  }
  throw std::logic_error(fmt::format("no setting named {}", env));
}

bool is_valid_feed_name(std::string_view name) {
  if (name.empty() || name.size() > max_feed_name_length) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
}

std::string location(const std::string& file, const toml::source_region& region) {
  return fmt::format("{}:{}", file, region.begin.line);
}

// The settings a feed starts from: the shared ones without any search, so a feed never
// inherits a filter from the environment.
settings search_reset(const settings& shared) {
  settings values = shared;
  const settings defaults;
  values.query = defaults.query;
  values.job_type = defaults.job_type;
  values.contractor_tier = defaults.contractor_tier;
  values.workload = defaults.workload;
  values.duration = defaults.duration;
  values.client_hires = defaults.client_hires;
  values.hourly_rate = defaults.hourly_rate;
  values.budget = defaults.budget;
  values.location = defaults.location;
  values.retention = defaults.retention;
  return values;
}

// The text form of a TOML value, or why its type does not fit.
struct value_text {
  std::optional<std::string> text;
  std::string problem;
};

value_text read_value_text(const toml::node& node, const feed_key& key) {
  if (auto text = node.value_exact<std::string>()) return {*text, {}};
  if (auto number = node.value_exact<std::int64_t>()) return {std::to_string(*number), {}};
  if (key.list && node.is_array()) {
    std::vector<std::string> items;
    for (const auto& item : *node.as_array()) {
      auto text = item.value_exact<std::string>();
      if (!text) return {std::nullopt, "expected an array of strings"};
      items.push_back(*text);
    }
    return {fmt::format("{}", fmt::join(items, ",")), {}};
  }
  return {std::nullopt, key.list ? "expected a string or an array of strings"
                                 : "expected a string or a whole number"};
}

// A feed key with its line, kept so validation can point at the key that broke a feed.
struct located_value {
  const feed_key* key;
  std::string text;
  toml::source_region region;
};

class feed_reader {
 public:
  feed_reader(std::string file, const settings& shared) : file_(std::move(file)), shared_(shared) {}

  feed_definition read(const std::string& name, const toml::table& table,
                       const toml::source_region& region) {
    feed_definition feed;
    feed.name = name;
    feed.origin = location(file_, region);
    feed.values = search_reset(shared_);
    feed.values.feed = name;
    prefix_ = fmt::format("feed \"{}\"", name);

    std::vector<located_value> values = collect(table, feed);
    std::sort(values.begin(), values.end(), [](const located_value& a, const located_value& b) {
      return a.region.begin.line < b.region.begin.line;
    });
    for (const auto& value : values) apply(value, feed);
    if (feed.problems.empty()) check_search(values, feed);
    return feed;
  }

 private:
  std::vector<located_value> collect(const toml::table& table, feed_definition& feed) {
    std::vector<located_value> values;
    for (const auto& [key_name, node] : table) {
      const feed_key* key = find_key(key_name.str());
      if (!key) {
        feed.problems.push_back(fmt::format("{}: {}: unknown key \"{}\"; valid keys: {}",
                                            location(file_, key_name.source()), prefix_,
                                            key_name.str(), valid_key_names()));
        continue;
      }
      auto value = read_value_text(node, *key);
      if (!value.text) {
        feed.problems.push_back(fmt::format("{}: {}: invalid {}: {}",
                                            location(file_, node.source()), prefix_, key->name,
                                            value.problem));
        continue;
      }
      values.push_back({key, std::move(*value.text), node.source()});
    }
    return values;
  }

  // Parses one value with the parser of its setting (or the schedule's) into the feed.
  void apply(const located_value& value, feed_definition& feed) {
    if (value.key->name == "schedule") {
      auto period = parse_duration(value.text);
      if (!period || period->count() <= 0) {
        feed.problems.push_back(fmt::format(
            "{}: {}: invalid schedule \"{}\": expected a duration above zero with a unit, such "
            "as 5m or 1h",
            location(file_, value.region), prefix_, value.text));
        return;
      }
      feed.schedule = *period;
      return;
    }
    const auto& spec = spec_for(value.key->setting_env);
    if (auto problem = spec.apply(feed.values, value.text)) {
      feed.problems.push_back(fmt::format("{}: {}: invalid {} \"{}\": {}",
                                          location(file_, value.region), prefix_,
                                          value.key->name, value.text, *problem));
    }
  }

  // Validates the feed's search and limits as a run would. On failure, re-applies the values in
  // file order to find the first one that makes the feed invalid, so the message points at it.
  void check_search(const std::vector<located_value>& values, feed_definition& feed) {
    auto failure = validation_failure(feed.values);
    if (!failure) return;

    std::string where = feed.origin;
    settings partial = search_reset(shared_);
    partial.feed = feed.name;
    for (const auto& value : values) {
      if (value.key->name == "schedule") continue;
      (void)spec_for(value.key->setting_env).apply(partial, value.text);
      if (auto early = validation_failure(partial)) {
        where = location(file_, value.region);
        failure = early;
        break;
      }
    }
    feed.problems.push_back(fmt::format("{}: {}: {}", where, prefix_, *failure));
  }

  static std::optional<std::string> validation_failure(const settings& values) {
    try {
      validate(values);
    } catch (const config_error& e) {
      return std::string(e.what());
    }
    return std::nullopt;
  }

  std::string file_;
  const settings& shared_;
  std::string prefix_;
};

// Gives marketplace feeds their own token cache rows when the file mixes sources.
void separate_token_names(feed_list& list) {
  bool visitor = false;
  bool marketplace = false;
  for (const auto& feed : list.feeds) {
    visitor = visitor || feed.values.source == "visitor";
    marketplace = marketplace || feed.values.source == "marketplace";
  }
  if (!visitor || !marketplace) return;
  for (auto& feed : list.feeds) {
    if (feed.values.source == "marketplace") feed.values.token_name += ".marketplace";
  }
}

feed_list environment_feed(const settings& shared) {
  feed_list list;
  feed_definition feed;
  feed.name = shared.feed;
  feed.values = shared;
  feed.origin = "environment";
  try {
    validate(shared);
  } catch (const config_error& e) {
    feed.problems.push_back(e.what());
  }
  list.feeds.push_back(std::move(feed));
  return list;
}

std::string parse_problem(const std::string& file, const toml::parse_error& failure) {
  std::string description(failure.description());
  std::string fix = "fix the TOML syntax";
  if (description.find("redefin") != std::string::npos) {
    fix = "every feed needs its own name: rename or merge the repeated [feeds.NAME] table";
  }
  return fmt::format("{}: invalid TOML: {}; {}", location(file, failure.source()), description,
                     fix);
}

void read_feed_tables(const std::string& file, const toml::table& feeds_table,
                      const settings& shared, feed_list& list) {
  // toml::table keeps its keys sorted; feeds run in the order the file lists them.
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (const auto& [key, node] : feeds_table) entries.emplace_back(&key, &node);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.first->source().begin.line < b.first->source().begin.line;
  });

  feed_reader reader(file, shared);
  for (const auto& [key_pointer, node_pointer] : entries) {
    const toml::key& key = *key_pointer;
    const toml::node& node = *node_pointer;
    std::string name(key.str());
    if (!is_valid_feed_name(name)) {
      list.problems.push_back(fmt::format(
          "{}: invalid feed name \"{}\": use 1 to {} letters, digits, '_', '-' or '.'",
          location(file, key.source()), name, max_feed_name_length));
      continue;
    }
    const auto* table = node.as_table();
    if (!table) {
      list.problems.push_back(fmt::format(
          "{}: feeds.{} must be a table; write it as [feeds.{}] followed by its keys",
          location(file, node.source()), name, name));
      continue;
    }
    list.feeds.push_back(reader.read(name, *table, key.source()));
  }
}

}  // namespace

bool feed_list::valid() const {
  if (!problems.empty()) return false;
  return std::all_of(feeds.begin(), feeds.end(),
                     [](const feed_definition& feed) { return feed.problems.empty(); });
}

std::string feed_list::describe_problems() const {
  std::vector<std::string> all = problems;
  for (const auto& feed : feeds) all.insert(all.end(), feed.problems.begin(), feed.problems.end());
  return fmt::format("{}", fmt::join(all, "\n"));
}

feed_list read_feeds(const settings& shared) {
  if (shared.feeds_file.empty()) return environment_feed(shared);

  feed_list list;
  list.file = shared.feeds_file;
  toml::table document;
  try {
    document = toml::parse_file(shared.feeds_file);
  } catch (const toml::parse_error& failure) {
    if (failure.source().begin.line == 0) {
      list.problems.push_back(fmt::format(
          "cannot read the feeds file {} (JOB_FETCHER_FEEDS / --config): {}; check the path "
          "and its permissions",
          shared.feeds_file, failure.description()));
    } else {
      list.problems.push_back(parse_problem(shared.feeds_file, failure));
    }
    return list;
  }

  for (const auto& [key, node] : document) {
    if (key.str() == "feeds") continue;
    list.problems.push_back(fmt::format(
        "{}: unknown key \"{}\": the file holds only [feeds.NAME] tables",
        location(shared.feeds_file, key.source()), key.str()));
  }
  const auto* feeds_table = document["feeds"].as_table();
  if (!feeds_table || feeds_table->empty()) {
    list.problems.push_back(fmt::format(
        "{}: no feeds defined; add a table such as [feeds.python] with source = \"visitor\" and "
        "query = \"python\"",
        shared.feeds_file));
    return list;
  }
  read_feed_tables(shared.feeds_file, *feeds_table, shared, list);
  separate_token_names(list);
  return list;
}

std::vector<feed_definition> load_feeds(const settings& shared) {
  auto list = read_feeds(shared);
  if (!list.valid()) throw config_error(list.describe_problems());
  return std::move(list.feeds);
}

const feed_definition& select_feed(const std::vector<feed_definition>& feeds,
                                   const std::string& name) {
  for (const auto& feed : feeds) {
    if (feed.name == name) return feed;
  }
  if (name == settings{}.feed && feeds.size() == 1) return feeds.front();

  std::vector<std::string> names;
  for (const auto& feed : feeds) names.push_back(feed.name);
  if (name == settings{}.feed) {
    throw config_error(fmt::format(
        "no feed chosen: the feeds file defines {}; choose one with --feed NAME "
        "(JOB_FETCHER_FEED) or run them all with --all",
        fmt::join(names, ", ")));
  }
  throw config_error(fmt::format("unknown feed \"{}\"; the configured feeds are: {}", name,
                                 fmt::join(names, ", ")));
}

feed_apps::feed_apps(std::vector<feed_definition> feeds, clock_source& clock)
    : feeds_(std::move(feeds)), clock_(clock) {}

feed_apps::~feed_apps() = default;

app& feed_apps::get(const std::string& name) {
  const auto& feed = select_feed(feeds_, name);
  auto found = apps_.find(feed.name);
  if (found != apps_.end()) return *found->second;
  auto created = std::make_unique<app>(feed.values, clock_);
  return *apps_.emplace(feed.name, std::move(created)).first->second;
}

}  // namespace job_fetcher::run
