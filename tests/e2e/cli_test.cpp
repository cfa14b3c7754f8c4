// The job-fetcher binary: exit codes, --json output and start-up validation.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "e2e/e2e_support.hpp"

namespace job_fetcher::e2e {
namespace {

using doubles::sim_process;

// Runs one SQL statement on a SQLite file and returns the first column of its first row, or the
// error text.
std::string run_sqlite(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return "cannot open " + path;
  std::string first;
  char* message = nullptr;
  auto keep_first = [](void* out, int columns, char** values, char**) {
    auto& text = *static_cast<std::string*>(out);
    if (columns > 0 && values[0] != nullptr && text.empty()) text = values[0];
    return 0;
  };
  if (sqlite3_exec(db, sql.c_str(), keep_first, &first, &message) != SQLITE_OK) {
    first = message != nullptr ? message : "failed";
    sqlite3_free(message);
  }
  sqlite3_close(db);
  return first;
}

std::vector<std::string> sim_env(const sim_process& sim, const std::string& store_url) {
  return {"UPWORK_VISITOR_URL=" + sim.base_url() + "/api/graphql/v1?alias=visitorJobSearch",
          "UPWORK_HOME_URL=" + sim.base_url() + "/", "JOB_FETCHER_STORE=" + store_url,
          "JOB_FETCHER_RATE=1000"};
}

TEST(cli, run_json_prints_the_summary_object) {
  temp_dir dir;
  sim_process sim({"--published", "300"});
  auto result = run_binary({"run", "--json", "--backfill", "120"},
                           sim_env(sim, "sqlite:" + (dir.path() / "jobs.db").string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto summary = nlohmann::json::parse(result.out);
  for (const char* key : {"status", "feed", "pages", "api_requests", "postings_seen",
                          "postings_new", "postings_updated", "gap", "duration_ms"}) {
    EXPECT_TRUE(summary.contains(key)) << key;
  }
  EXPECT_EQ(summary["status"], "ok");
  EXPECT_EQ(summary["postings_new"], 120);
}

TEST(cli, failed_run_exits_nonzero) {
  temp_dir dir;
  sim_process sim({"--published", "300"});
  sim.set_faults({{{"status", 401}}, {{"status", 401}}});
  auto result = run_binary({"run", "--json"}, sim_env(sim, "sqlite:" + (dir.path() / "jobs.db").string()));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(result.out)["error_class"], "auth");
}

struct bad_setting {
  std::string name;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string named;  // the setting the message must name
};

class cli_bad_setting : public ::testing::TestWithParam<bad_setting> {};

TEST_P(cli_bad_setting, exits_before_any_request) {
  const auto& param = GetParam();
  temp_dir dir;
  sim_process sim({"--published", "100"});
  auto env = sim_env(sim, "sqlite:" + (dir.path() / "jobs.db").string());
  env.insert(env.end(), param.env.begin(), param.env.end());
  std::vector<std::string> args{"run"};
  args.insert(args.end(), param.args.begin(), param.args.end());

  auto result = run_binary(args, env);

  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_NE(result.err.find(param.named), std::string::npos) << result.err;
  auto stats = sim.stats();
  EXPECT_EQ(stats.home_requests + stats.visitor_requests, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    settings, cli_bad_setting,
    ::testing::Values(
        bad_setting{"page_size_80", {"--page-size", "80"}, {}, "PAGE_SIZE"},
        bad_setting{"query_600", {"--query", std::string(600, 'q')}, {}, "500"},
        bad_setting{"budget_without_fixed", {"--budget", "100-500"}, {}, "budget"},
        bad_setting{"unwritable_store", {"--store", "sqlite:/proc/no/such/dir/jobs.db"}, {},
                    "/proc/no/such/dir"},
        bad_setting{"unknown_store_scheme", {"--store", "mysql://x"}, {}, "mysql"},
        bad_setting{"postgres_port_not_number", {"--store", "postgres://job@127.0.0.1:x/db"}, {},
                    "port 'x'"},
        bad_setting{"bad_duration", {}, {"JOB_FETCHER_SKEW=5"}, "JOB_FETCHER_SKEW"},
        bad_setting{"overflowing_duration", {"--deadline", "150000000d"}, {}, "--deadline"},
        bad_setting{"deadline_within_margin", {"--deadline", "1s"}, {}, "JOB_FETCHER_DEADLINE"},
        bad_setting{"feed_name_with_colon", {"--feed", "token:UniversalSearch"}, {},
                    "JOB_FETCHER_FEED"},
        bad_setting{"backfill_beyond_max_pages",
                    {"--page-size", "10", "--max-pages", "5", "--backfill", "100"}, {},
                    "JOB_FETCHER_BACKFILL"},
        bad_setting{"unknown_flag", {"--no-such-flag"}, {}, "no-such-flag"}),
    [](const auto& test_info) { return test_info.param.name; });

// Reading commands must not create a database at a mistyped path.
TEST(cli, status_and_show_reject_missing_database) {
  temp_dir dir;
  auto path = (dir.path() / "mistyped.db").string();
  for (const char* command : {"status", "show"}) {
    auto result = run_binary({command, "--store", "sqlite:" + path}, {});

    EXPECT_EQ(result.exit_code, 2) << command << ": " << result.err;
    EXPECT_NE(result.err.find(path + " does not exist"), std::string::npos) << result.err;
    EXPECT_FALSE(std::filesystem::exists(path)) << command;
  }
}

// Reading commands check the schema and never create one in another application's database.
TEST(cli, status_and_show_leave_foreign_database_alone) {
  temp_dir dir;
  auto path = (dir.path() / "other.db").string();
  ASSERT_EQ(run_sqlite(path, "CREATE TABLE notes (body TEXT)"), "");
  for (const char* command : {"status", "show"}) {
    auto result = run_binary({command, "--store", "sqlite:" + path}, {});

    EXPECT_EQ(result.exit_code, 2) << command << ": " << result.err;
    EXPECT_NE(result.err.find("no job-fetcher schema"), std::string::npos) << result.err;
  }
  EXPECT_EQ(run_sqlite(path, "SELECT group_concat(name) FROM sqlite_master"), "notes");
  EXPECT_EQ(run_sqlite(path, "PRAGMA journal_mode"), "delete");
}

TEST(cli, status_feed_shows_only_that_feed) {
  temp_dir dir;
  sim_process sim({"--published", "100"});
  auto env = sim_env(sim, "sqlite:" + (dir.path() / "jobs.db").string());
  ASSERT_EQ(run_binary({"run", "--feed", "python", "--backfill", "50"}, env).exit_code, 0);
  ASSERT_EQ(run_binary({"run", "--feed", "design", "--backfill", "50"}, env).exit_code, 0);

  auto result = run_binary({"status", "--json", "--feed", "design"}, env);

  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto status = nlohmann::json::parse(result.out);
  ASSERT_EQ(status["runs"].size(), 1u) << result.out;
  EXPECT_EQ(status["runs"][0]["feed"], "design");
}

// "default" is a feed name like any other, and freshness is that of the named feed.
TEST(cli, status_feed_default_and_unknown) {
  temp_dir dir;
  sim_process sim({"--published", "100"});
  auto env = sim_env(sim, "sqlite:" + (dir.path() / "jobs.db").string());
  ASSERT_EQ(run_binary({"run", "--feed", "python", "--backfill", "50"}, env).exit_code, 0);
  ASSERT_EQ(run_binary({"run", "--backfill", "20"}, env).exit_code, 0);

  auto named_default = run_binary({"status", "--json", "--feed", "default"}, env);
  auto unknown = run_binary({"status", "--json", "--feed", "nosuch"}, env);

  ASSERT_EQ(named_default.exit_code, 0) << named_default.err;
  auto status = nlohmann::json::parse(named_default.out);
  ASSERT_EQ(status["runs"].size(), 1u) << named_default.out;
  EXPECT_EQ(status["runs"][0]["feed"], "default");
  ASSERT_EQ(unknown.exit_code, 0) << unknown.err;
  auto none = nlohmann::json::parse(unknown.out);
  EXPECT_TRUE(none["runs"].empty()) << unknown.out;
  EXPECT_TRUE(none["newest_published_at"].is_null()) << unknown.out;
}

TEST(cli, show_feed_shows_only_that_feed) {
  temp_dir dir;
  sim_process sim({"--published", "100"});
  auto env = sim_env(sim, "sqlite:" + (dir.path() / "jobs.db").string());
  ASSERT_EQ(run_binary({"run", "--feed", "python", "--backfill", "50"}, env).exit_code, 0);
  ASSERT_EQ(run_binary({"run", "--feed", "design", "--backfill", "20"}, env).exit_code, 0);

  auto result = run_binary({"show", "--json", "--limit", "1000", "--feed", "design"}, env);

  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  std::size_t count = 0;
  for (std::string line; std::getline(lines, line);) {
    auto row = nlohmann::json::parse(line);
    auto feeds = row["feeds"].get<std::vector<std::string>>();
    EXPECT_NE(std::find(feeds.begin(), feeds.end(), "design"), feeds.end()) << line;
    ++count;
  }
  EXPECT_EQ(count, 20u);
  auto all = run_binary({"show", "--json", "--limit", "1000"}, env);
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), 50);
}

TEST(cli, settings_names_lists_every_environment_name) {
  auto result = run_binary({"settings", "--names"}, {});
  ASSERT_EQ(result.exit_code, 0);
  for (const char* name : {"JOB_FETCHER_STORE", "UPWORK_TOKEN", "UPWORK_VISITOR_URL",
                           "UPWORK_HOME_URL", "POSTGREST_URL", "AUTHORIZER_URL"}) {
    EXPECT_NE(result.out.find(name), std::string::npos) << name;
  }
}

TEST(cli, readme_settings_table_matches_binary) {
  std::ifstream readme(std::string(JOB_FETCHER_SOURCE_DIR) + "/README.md");
  std::string text((std::istreambuf_iterator<char>(readme)), {});
  auto result = run_binary({"settings", "--markdown"}, {});
  ASSERT_EQ(result.exit_code, 0);
  EXPECT_NE(text.find(result.out), std::string::npos)
      << "README.md's settings table is stale; paste `job-fetcher settings --markdown` into it";
}

TEST(cli, help_lists_settings_with_defaults) {
  auto result = run_binary({"run", "--help"}, {});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("--max-pages"), std::string::npos);
  EXPECT_NE(result.out.find("JOB_FETCHER_MAX_PAGES"), std::string::npos);
  EXPECT_NE(result.out.find("default: 100"), std::string::npos);
}

}  // namespace
}  // namespace job_fetcher::e2e
