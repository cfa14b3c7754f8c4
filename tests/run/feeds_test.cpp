// Feeds files: parsing, validation against each source, FILE:LINE in every problem, and feed
// selection.
#include "run/feeds.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace job_fetcher::run {
namespace {

using namespace std::chrono_literals;

// A feeds file in a temporary folder, removed with the object.
class feeds_file {
 public:
  explicit feeds_file(const std::string& text) {
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           ("job-fetcher-feeds-" + std::to_string(getpid()) + "-" + std::to_string(random()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "feeds.toml").string();
    std::ofstream(path_) << text;
  }
  ~feeds_file() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::filesystem::path dir_;
  std::string path_;
};

settings shared_settings(const std::string& file) {
  settings values;
  values.feeds_file = file;
  values.client_id = "app-key";
  values.client_secret = secret("app-secret");
  return values;
}

feed_list read(const feeds_file& file) { return read_feeds(shared_settings(file.path())); }

// Returns every problem of the list, one a line, for assertion messages.
std::string problems_of(const feed_list& list) { return list.describe_problems(); }

constexpr const char* three_feeds = R"toml(
[feeds.firehose]
source = "visitor"
backfill = 300

[feeds.python-visitor]
source = "visitor"
query = "python"
job_type = "hourly"
hourly_rate = "30-"
contractor_tier = ["ExpertLevel", "IntermediateLevel"]
schedule = "10m"

[feeds.python-market]
source = "marketplace"
query = "python"
contractor_tier = "ExpertLevel"
location = ["Germany", "France"]
page_size = 25
max_pages = 7
backfill = 150
retention = "24h"
)toml";

TEST(feeds, file_feeds_are_read_in_order) {
  feeds_file file(three_feeds);

  auto list = read(file);

  ASSERT_TRUE(list.valid()) << problems_of(list);
  ASSERT_EQ(list.feeds.size(), 3u);
  EXPECT_EQ(list.feeds[0].name, "firehose");
  EXPECT_EQ(list.feeds[1].name, "python-visitor");
  EXPECT_EQ(list.feeds[2].name, "python-market");
  EXPECT_EQ(list.feeds[0].origin, file.path() + ":2");
  EXPECT_EQ(list.feeds[2].origin, file.path() + ":14");
}

TEST(feeds, file_values_reach_the_settings) {
  feeds_file file(three_feeds);

  auto list = read(file);

  ASSERT_TRUE(list.valid()) << problems_of(list);
  const auto& firehose = list.feeds[0].values;
  EXPECT_EQ(firehose.feed, "firehose");
  EXPECT_EQ(firehose.query, "");
  EXPECT_EQ(firehose.backfill, 300);
  EXPECT_EQ(firehose.retention, 0ms);

  const auto& visitor = list.feeds[1].values;
  EXPECT_EQ(visitor.query, "python");
  EXPECT_EQ(visitor.job_type, "hourly");
  EXPECT_EQ(visitor.hourly_rate, "30-");
  EXPECT_EQ(visitor.contractor_tier, "ExpertLevel,IntermediateLevel");
  EXPECT_EQ(list.feeds[1].schedule, std::optional<std::chrono::milliseconds>(10min));

  const auto& market = list.feeds[2].values;
  EXPECT_EQ(market.source, "marketplace");
  EXPECT_EQ(market.location, "Germany,France");
  EXPECT_EQ(market.page_size, 25);
  EXPECT_EQ(market.max_pages, 7);
  EXPECT_EQ(market.retention, 24h);
  EXPECT_FALSE(list.feeds[2].schedule.has_value());
}

TEST(feeds, file_feeds_do_not_inherit_environment_search) {
  feeds_file file(three_feeds);
  auto shared = shared_settings(file.path());
  shared.query = "rust";
  shared.workload = "full_time";
  shared.store.url = "sqlite:/tmp/shared.db";

  auto list = read_feeds(shared);

  ASSERT_TRUE(list.valid()) << problems_of(list);
  EXPECT_EQ(list.feeds[0].values.query, "");
  EXPECT_EQ(list.feeds[0].values.workload, "");
  EXPECT_EQ(list.feeds[0].values.store.url, "sqlite:/tmp/shared.db");
}

TEST(feeds, mixed_sources_get_separate_token_names) {
  feeds_file file(three_feeds);

  auto list = read(file);

  ASSERT_TRUE(list.valid()) << problems_of(list);
  EXPECT_EQ(list.feeds[0].values.token_name, "UniversalSearch");
  EXPECT_EQ(list.feeds[2].values.token_name, "UniversalSearch.marketplace");
}

TEST(feeds, environment_describes_one_default_feed) {
  settings shared;
  shared.query = "golang";

  auto list = read_feeds(shared);

  ASSERT_TRUE(list.valid()) << problems_of(list);
  ASSERT_EQ(list.feeds.size(), 1u);
  EXPECT_EQ(list.feeds[0].name, "default");
  EXPECT_EQ(list.feeds[0].origin, "environment");
  EXPECT_EQ(list.feeds[0].values.query, "golang");
  EXPECT_TRUE(list.file.empty());
}

TEST(feeds, environment_problem_is_reported_without_location) {
  settings shared;
  shared.hourly_rate = "10-20";

  auto list = read_feeds(shared);

  ASSERT_FALSE(list.valid());
  ASSERT_EQ(list.feeds.size(), 1u);
  ASSERT_EQ(list.feeds[0].problems.size(), 1u);
  EXPECT_NE(list.feeds[0].problems[0].find("filters.hourly_rate needs filters.job_type hourly"),
            std::string::npos)
      << list.feeds[0].problems[0];
}

// One invalid file per case: the problem names FILE:LINE of the offending key and the fix.
struct invalid_case {
  std::string name;
  std::string text;
  int line;
  std::string expected;  // a part of the message that names the fix or the valid values
};

class invalid_feeds : public ::testing::TestWithParam<invalid_case> {};

TEST_P(invalid_feeds, names_the_line_and_the_fix) {
  const auto& param = GetParam();
  feeds_file file(param.text);

  auto list = read(file);

  ASSERT_FALSE(list.valid());
  auto problems = problems_of(list);
  EXPECT_NE(problems.find(file.path() + ":" + std::to_string(param.line) + ":"),
            std::string::npos)
      << problems;
  EXPECT_NE(problems.find(param.expected), std::string::npos) << problems;
  EXPECT_THROW(load_feeds(shared_settings(file.path())), config_error);
}

INSTANTIATE_TEST_SUITE_P(
    cases, invalid_feeds,
    ::testing::Values(
        invalid_case{"unknown_source", "[feeds.a]\nquery = \"x\"\nsource = \"rss\"\n", 3,
                     "expected one of: visitor, marketplace"},
        invalid_case{"bad_filter_value",
                     "[feeds.a]\nsource = \"visitor\"\ncontractor_tier = \"Guru\"\n", 3,
                     "use one of: EntryLevel, IntermediateLevel, ExpertLevel"},
        invalid_case{"query_too_long",
                     "[feeds.a]\nsource = \"visitor\"\n\nquery = \"" + std::string(501, 'q') +
                         "\"\n",
                     4, "Upwork accepts at most 500; shorten it"},
        invalid_case{"marketplace_query_too_long",
                     "[feeds.a]\nsource = \"marketplace\"\nquery = \"" + std::string(501, 'q') +
                         "\"\n",
                     3, "Upwork accepts at most 500; shorten it"},
        invalid_case{"contradictory_pair",
                     "[feeds.a]\nsource = \"visitor\"\njob_type = \"fixed\"\nhourly_rate = "
                     "\"10-50\"\n",
                     4, "filters.hourly_rate needs filters.job_type hourly"},
        invalid_case{"duplicate_feed_names",
                     "[feeds.a]\nsource = \"visitor\"\n\n[feeds.a]\nquery = \"x\"\n", 4,
                     "rename or merge the repeated [feeds.NAME] table"},
        invalid_case{"unknown_key", "[feeds.a]\nsource = \"visitor\"\nqeury = \"python\"\n", 3,
                     "unknown key \"qeury\"; valid keys: source, query"},
        invalid_case{"marketplace_visitor_filter",
                     "[feeds.a]\nsource = \"marketplace\"\nworkload = \"full_time\"\n", 3,
                     "the marketplace source has no such filter"},
        invalid_case{"marketplace_two_tiers",
                     "[feeds.a]\nsource = \"marketplace\"\ncontractor_tier = [\"EntryLevel\", "
                     "\"ExpertLevel\"]\n",
                     3, "filters on one tier"},
        invalid_case{"bad_retention", "[feeds.a]\nsource = \"visitor\"\nretention = \"24\"\n", 3,
                     "such as 24h or 7d"},
        invalid_case{"bad_schedule", "[feeds.a]\nschedule = \"soon\"\n", 2, "such as 5m or 1h"},
        invalid_case{"page_size_out_of_range", "[feeds.a]\npage_size = 80\n", 2,
                     "the page size must be from 1 to 50"},
        invalid_case{"wrong_type", "[feeds.a]\nbackfill = true\n", 2,
                     "expected a string or a whole number"},
        invalid_case{"invalid_toml", "[feeds.a]\nquery = \"unterminated\n", 2,
                     "fix the TOML syntax"},
        invalid_case{"unknown_top_level_key", "store = \"sqlite:x\"\n[feeds.a]\n", 1,
                     "the file holds only [feeds.NAME] tables"},
        invalid_case{"invalid_feed_name", "[feeds.\"a b\"]\nsource = \"visitor\"\n", 1,
                     "invalid feed name \"a b\""}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(feeds, marketplace_feed_needs_an_app_key) {
  feeds_file file("[feeds.market]\nsource = \"marketplace\"\n");
  settings shared;
  shared.feeds_file = file.path();

  auto list = read_feeds(shared);

  ASSERT_FALSE(list.valid());
  auto problems = problems_of(list);
  EXPECT_NE(problems.find(file.path() + ":2:"), std::string::npos) << problems;
  EXPECT_NE(problems.find("UPWORK_CLIENT_ID"), std::string::npos) << problems;
  EXPECT_NE(problems.find("UPWORK_CLIENT_SECRET"), std::string::npos) << problems;
}

TEST(feeds, marketplace_feed_accepts_a_static_token) {
  feeds_file file("[feeds.market]\nsource = \"marketplace\"\n");
  settings shared;
  shared.feeds_file = file.path();
  shared.upwork_token = secret("static-token");

  auto list = read_feeds(shared);

  EXPECT_TRUE(list.valid()) << problems_of(list);
}

TEST(feeds, every_problem_of_a_file_is_listed) {
  feeds_file file("[feeds.a]\nsource = \"rss\"\n[feeds.b]\nbogus = 1\n");

  auto list = read(file);

  ASSERT_EQ(list.feeds.size(), 2u);
  EXPECT_EQ(list.feeds[0].problems.size(), 1u);
  EXPECT_EQ(list.feeds[1].problems.size(), 1u);
}

TEST(feeds, missing_file_is_a_problem) {
  settings shared;
  shared.feeds_file = "/nonexistent/feeds.toml";

  auto list = read_feeds(shared);

  ASSERT_FALSE(list.valid());
  EXPECT_NE(list.describe_problems().find("/nonexistent/feeds.toml"), std::string::npos)
      << list.describe_problems();
}

TEST(feeds, empty_file_is_a_problem) {
  feeds_file file("# nothing yet\n");

  auto list = read(file);

  ASSERT_FALSE(list.valid());
  EXPECT_NE(list.describe_problems().find("no feeds defined"), std::string::npos);
}

TEST(feeds, select_finds_feed_by_name) {
  feeds_file file(three_feeds);
  auto feeds = load_feeds(shared_settings(file.path()));

  EXPECT_EQ(select_feed(feeds, "python-market").name, "python-market");
}

TEST(feeds, select_without_name_needs_one_feed) {
  feeds_file file(three_feeds);
  auto feeds = load_feeds(shared_settings(file.path()));

  try {
    (void)select_feed(feeds, "default");
    FAIL() << "expected a config error";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("--all"), std::string::npos) << e.what();
  }
  std::vector<feed_definition> one{feeds[1]};
  EXPECT_EQ(select_feed(one, "default").name, "python-visitor");
}

TEST(feeds, select_unknown_name_lists_feeds) {
  feeds_file file(three_feeds);
  auto feeds = load_feeds(shared_settings(file.path()));

  try {
    (void)select_feed(feeds, "golang");
    FAIL() << "expected a config error";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("firehose, python-visitor, python-market"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace job_fetcher::run
