// Named feeds end to end: the job-fetcher binary with a feeds file against upwork-sim, `run --all`,
// `run --feed`, `feeds`, `prune`, and invalid files rejected before any request.
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "doubles/fixtures/posting_fixtures.hpp"
#include "e2e/e2e_support.hpp"
#include "store/store.hpp"

namespace job_fetcher::e2e {
namespace {

using namespace std::chrono_literals;
using doubles::sim_process;

constexpr const char* refresh_token = "feeds-refresh-token";

constexpr const char* three_feeds = R"toml(
# Every new posting, a visitor search and a marketplace search for the same words.
[feeds.firehose]
source = "visitor"
backfill = 200

[feeds.python-visitor]
source = "visitor"
query = "python"
backfill = 60

[feeds.python-market]
source = "marketplace"
query = "python"
backfill = 60
)toml";

class feeds_run : public ::testing::Test {
 protected:
  std::string store_url() const { return "sqlite:" + (dir_.path() / "jobs.db").string(); }

  std::string write_feeds(const std::string& text) {
    auto path = (dir_.path() / "feeds.toml").string();
    std::ofstream(path) << text;
    return path;
  }

  std::vector<std::string> env_for(const sim_process& sim, const std::string& feeds_path) const {
    return {"UPWORK_VISITOR_URL=" + sim.base_url() + "/api/graphql/v1?alias=visitorJobSearch",
            "UPWORK_HOME_URL=" + sim.base_url() + "/",
            "UPWORK_MARKETPLACE_URL=" + sim.base_url() + "/graphql",
            "UPWORK_TOKEN_URL=" + sim.base_url() + "/api/v3/oauth2/token",
            "UPWORK_CLIENT_ID=sim-client",
            "UPWORK_CLIENT_SECRET=sim-secret",
            std::string("UPWORK_REFRESH_TOKEN=") + refresh_token,
            "JOB_FETCHER_STORE=" + store_url(),
            "JOB_FETCHER_FEEDS=" + feeds_path,
            "JOB_FETCHER_RATE=1000",
            "JOB_FETCHER_RATE_BURST=100",
            "JOB_FETCHER_BACKOFF_BASE=5ms",
            "JOB_FETCHER_LOG_LEVEL=warn"};
  }

  std::map<std::string, store::stored_posting> stored_by_id() {
    auto db = open_for_inspection(store_url());
    auto rows = db->read_postings(100000);
    EXPECT_TRUE(rows.ok());
    std::map<std::string, store::stored_posting> by_id;
    for (auto& row : *rows) by_id.emplace(row.posting.id, row);
    return by_id;
  }

  std::optional<store::watermark> watermark_of(const std::string& feed) {
    auto loaded = open_for_inspection(store_url())->load_watermark(feed);
    EXPECT_TRUE(loaded.ok());
    return loaded.ok() ? *loaded : std::nullopt;
  }

  temp_dir dir_;
};

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

bool lists_feed(const store::stored_posting& row, const std::string& feed) {
  return std::find(row.feeds.begin(), row.feeds.end(), feed) != row.feeds.end();
}

bool matches_python(sim_process& sim, const std::string& id) {
  auto record = sim.posting(id)["record"];
  std::string text = record["title"].get<std::string>() + "\n" +
                     record["description"].get<std::string>();
  for (const auto& skill : record["skills"]) text += "\n" + skill.get<std::string>();
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text.find("python") != std::string::npos;
}

TEST_F(feeds_run, all_stores_the_union_once_with_every_feed) {
  sim_process sim({"--published", "2000", "--seed", "21", "--refresh-token", refresh_token});
  auto feeds_path = write_feeds(three_feeds);

  auto result = run_binary({"run", "--all", "--json"}, env_for(sim, feeds_path));

  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  auto summaries = json_lines(result.out);
  ASSERT_EQ(summaries.size(), 3u) << result.out;
  EXPECT_EQ(summaries[0]["feed"], "firehose");
  EXPECT_EQ(summaries[1]["feed"], "python-visitor");
  EXPECT_EQ(summaries[2]["feed"], "python-market");
  for (const auto& summary : summaries) EXPECT_EQ(summary["status"], "ok") << summary.dump();

  auto stored = stored_by_id();
  std::map<std::string, std::set<std::string>> ids_of_feed;
  for (const auto& [id, row] : stored) {
    EXPECT_FALSE(row.feeds.empty()) << id;
    EXPECT_EQ(std::set<std::string>(row.feeds.begin(), row.feeds.end()).size(), row.feeds.size())
        << "feed listed twice for " << id;
    for (const auto& feed : row.feeds) ids_of_feed[feed].insert(id);
  }
  EXPECT_EQ(ids_of_feed["firehose"].size(), 200u);
  EXPECT_EQ(ids_of_feed["python-visitor"].size(), 60u);
  EXPECT_EQ(ids_of_feed["python-market"].size(), 60u);

  // The firehose contains the 200 newest; both searches found the same 60 newest matches.
  auto published = sim.published_ids();
  for (std::size_t i = 0; i < 200; ++i) {
    EXPECT_TRUE(ids_of_feed["firehose"].contains(published[i])) << published[i];
  }
  EXPECT_EQ(ids_of_feed["python-visitor"], ids_of_feed["python-market"]);
  for (const auto& id : ids_of_feed["python-visitor"]) {
    EXPECT_TRUE(matches_python(sim, id)) << id;
  }

  // A posting every feed found is one row listing all three feeds, in the order they ran.
  std::size_t in_all = 0;
  for (const auto& id : ids_of_feed["python-visitor"]) {
    if (!ids_of_feed["firehose"].contains(id)) continue;
    ++in_all;
    EXPECT_EQ(stored.at(id).feeds,
              (std::vector<std::string>{"firehose", "python-visitor", "python-market"}))
        << id;
  }
  EXPECT_GT(in_all, 0u) << "the data set should have python postings among the 200 newest";
  std::set<std::string> union_ids;
  for (const auto& [feed, ids] : ids_of_feed) union_ids.insert(ids.begin(), ids.end());
  EXPECT_EQ(stored.size(), union_ids.size());
}

TEST_F(feeds_run, each_feed_moves_its_own_watermark) {
  sim_process sim({"--published", "2000", "--seed", "22", "--refresh-token", refresh_token});
  auto feeds_path = write_feeds(three_feeds);
  auto env = env_for(sim, feeds_path);
  ASSERT_EQ(run_binary({"run", "--all"}, env).exit_code, 0);
  auto firehose_before = watermark_of("firehose");
  auto visitor_before = watermark_of("python-visitor");
  auto market_before = watermark_of("python-market");
  ASSERT_TRUE(firehose_before.has_value());
  ASSERT_TRUE(visitor_before.has_value());
  ASSERT_TRUE(market_before.has_value());
  EXPECT_FALSE(watermark_of("default").has_value());
  ASSERT_EQ(sim.publish(80), 80u);

  auto result = run_binary({"run", "--feed", "firehose", "--json"}, env);

  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out)["postings_new"], 80);
  auto firehose_after = watermark_of("firehose");
  ASSERT_TRUE(firehose_after);
  EXPECT_GT(firehose_after->at, firehose_before->at);
  EXPECT_EQ(watermark_of("python-visitor"), visitor_before);
  EXPECT_EQ(watermark_of("python-market"), market_before);

  auto runs = open_for_inspection(store_url())->recent_runs("firehose", 10);
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 2u);
}

TEST_F(feeds_run, all_exit_code_is_the_worst_status) {
  sim_process sim({"--published", "300", "--seed", "23", "--refresh-token", refresh_token});
  // The first feed's first request fails twice with 401: one renewal, then the run fails.
  auto feeds_path = write_feeds(three_feeds);
  sim.set_faults({{{"status", 401}}, {{"status", 401}}});

  auto result = run_binary({"run", "--all", "--json"}, env_for(sim, feeds_path));

  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  auto summaries = json_lines(result.out);
  ASSERT_EQ(summaries.size(), 3u) << result.out;
  EXPECT_EQ(summaries[0]["status"], "failed");
  EXPECT_EQ(summaries[1]["status"], "ok");
  EXPECT_EQ(summaries[2]["status"], "ok");
}

TEST_F(feeds_run, run_without_feed_needs_a_choice) {
  sim_process sim({"--published", "100"});
  auto result = run_binary({"run"}, env_for(sim, write_feeds(three_feeds)));

  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--feed NAME"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("--all"), std::string::npos) << result.err;
}

TEST_F(feeds_run, feeds_command_lists_feeds) {
  sim_process sim({"--published", "100"});
  auto feeds_path = write_feeds(three_feeds);

  auto text = run_binary({"feeds"}, env_for(sim, feeds_path));
  auto json = run_binary({"feeds", "--json"}, env_for(sim, feeds_path));

  EXPECT_EQ(text.exit_code, 0) << text.err;
  for (const char* name : {"firehose", "python-visitor", "python-market"}) {
    EXPECT_NE(text.out.find(name), std::string::npos) << text.out;
  }
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto listed = nlohmann::json::parse(json.out);
  EXPECT_EQ(listed["valid"], true);
  ASSERT_EQ(listed["feeds"].size(), 3u);
  EXPECT_EQ(listed["feeds"][2]["source"], "marketplace");
  EXPECT_EQ(listed["feeds"][2]["origin"], feeds_path + ":12");
  EXPECT_EQ(sim.stats().home_requests + sim.stats().visitor_requests, 0u);
}

TEST_F(feeds_run, feeds_command_reports_invalid_feeds) {
  sim_process sim({"--published", "100"});
  auto feeds_path = write_feeds("[feeds.good]\nsource = \"visitor\"\n\n[feeds.bad]\nsource = "
                                "\"visitor\"\nbudget = \"100-500\"\n");

  auto json = run_binary({"feeds", "--json"}, env_for(sim, feeds_path));

  EXPECT_EQ(json.exit_code, 2);
  auto listed = nlohmann::json::parse(json.out);
  EXPECT_EQ(listed["valid"], false);
  EXPECT_EQ(listed["feeds"][0]["valid"], true);
  EXPECT_EQ(listed["feeds"][1]["valid"], false);
  ASSERT_EQ(listed["feeds"][1]["problems"].size(), 1u);
  EXPECT_NE(listed["feeds"][1]["problems"][0].get<std::string>().find(feeds_path + ":6:"),
            std::string::npos)
      << listed.dump();
}

// Invalid feeds files: `run --all` exits with 2 before any request, naming FILE:LINE and the fix.
struct invalid_file {
  std::string name;
  std::string text;
  int line;
  std::string fix;
};

class feeds_invalid_file : public feeds_run, public ::testing::WithParamInterface<invalid_file> {};

TEST_P(feeds_invalid_file, is_rejected_at_start_up) {
  const auto& param = GetParam();
  sim_process sim({"--published", "100", "--refresh-token", refresh_token});
  auto feeds_path = write_feeds(param.text);

  auto result = run_binary({"run", "--all"}, env_for(sim, feeds_path));

  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_NE(result.err.find(feeds_path + ":" + std::to_string(param.line) + ":"),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find(param.fix), std::string::npos) << result.err;
  auto stats = sim.stats();
  EXPECT_EQ(stats.home_requests + stats.visitor_requests + stats.marketplace_requests +
                stats.token_requests,
            0u);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "jobs.db")) << "no store was opened";
}

INSTANTIATE_TEST_SUITE_P(
    cases, feeds_invalid_file,
    ::testing::Values(
        invalid_file{"unknown_source", "[feeds.a]\nsource = \"visitor\"\n[feeds.b]\nsource = \"rss\"\n",
                     4, "expected one of: visitor, marketplace"},
        invalid_file{"bad_filter_value", "[feeds.a]\ncontractor_tier = \"Guru\"\n", 2,
                     "use one of: EntryLevel, IntermediateLevel, ExpertLevel"},
        invalid_file{"query_over_500", "[feeds.a]\nsource = \"marketplace\"\nquery = \"" +
                                           std::string(501, 'x') + "\"\n",
                     3, "shorten it"},
        invalid_file{"contradictory_pair",
                     "[feeds.a]\njob_type = \"hourly\"\nbudget = \"100-500\"\n", 3,
                     "filters.budget needs filters.job_type fixed"},
        invalid_file{"duplicate_feed_names",
                     "[feeds.a]\nquery = \"go\"\n\n[feeds.b]\n\n[feeds.a]\nquery = \"rust\"\n", 6,
                     "rename or merge the repeated [feeds.NAME] table"},
        invalid_file{"unknown_key", "[feeds.a]\nsource = \"visitor\"\nretain = \"24h\"\n", 3,
                     "valid keys: source, query"}),
    [](const auto& test_info) { return test_info.param.name; });

TEST_F(feeds_run, prune_leaves_nothing_older_than_the_retention) {
  sim_process sim({"--published", "100"});
  auto feeds_path = write_feeds(
      "[feeds.market]\nsource = \"marketplace\"\nquery = \"python\"\nretention = \"24h\"\n\n"
      "[feeds.firehose]\nsource = \"visitor\"\n");
  auto records = fixtures::load_postings(fixtures::postings_path());
  auto now = system_clock_source().now();
  std::vector<upwork::posting> postings;
  for (std::size_t i = 0; i < 6; ++i) {
    postings.push_back(fixtures::expected_posting(records[i], "marketplace", now - 1h * (i + 1)));
  }
  {
    auto db = open_for_inspection(store_url());
    auto write = [&](std::vector<upwork::posting> page, timestamp seen_at, std::string feed) {
      store::page_write batch;
      batch.feed = std::move(feed);
      batch.postings = std::move(page);
      batch.seen_at = seen_at;
      ASSERT_TRUE(db->write_page(batch).ok());
    };
    write({postings[0], postings[1]}, now - 1h, "market");    // recent: kept
    write({postings[2], postings[3]}, now - 30h, "market");   // old: deleted
    write({postings[4]}, now - 48h, "market");                // old, also a firehose posting
    write({postings[4]}, now - 48h, "firehose");
    write({postings[5]}, now - 72h, "firehose");              // old, but firehose keeps all
  }

  auto result = run_binary({"prune", "--json"}, env_for(sim, feeds_path));

  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  auto lines = json_lines(result.out);
  ASSERT_EQ(lines.size(), 1u) << result.out;
  EXPECT_EQ(lines[0]["feed"], "market");
  EXPECT_EQ(lines[0]["retention"], "1d");
  EXPECT_EQ(lines[0]["released"], 3);

  auto stored = stored_by_id();
  for (const auto& [id, row] : stored) {
    if (!lists_feed(row, "market")) continue;
    EXPECT_GE(row.last_seen_at, now - 24h) << id << " is older than the retention";
  }
  EXPECT_TRUE(stored.contains(postings[0].id));
  EXPECT_TRUE(stored.contains(postings[1].id));
  EXPECT_FALSE(stored.contains(postings[2].id));
  EXPECT_FALSE(stored.contains(postings[3].id));
  ASSERT_TRUE(stored.contains(postings[4].id));
  EXPECT_EQ(stored.at(postings[4].id).feeds, std::vector<std::string>{"firehose"});
  EXPECT_TRUE(stored.contains(postings[5].id));
  EXPECT_EQ(sim.stats().marketplace_requests + sim.stats().token_requests, 0u);
}

TEST_F(feeds_run, run_prunes_a_feed_with_retention) {
  sim_process sim({"--published", "300", "--seed", "24", "--refresh-token", refresh_token});
  auto feeds_path = write_feeds(
      "[feeds.market]\nsource = \"marketplace\"\nbackfill = 50\nretention = \"24h\"\n");
  auto records = fixtures::load_postings(fixtures::postings_path());
  auto now = system_clock_source().now();
  // A posting the simulator does not serve (the last of the data set), seen two days ago.
  auto stale = fixtures::expected_posting(records.back(), "marketplace", now - 49h);
  {
    auto db = open_for_inspection(store_url());
    store::page_write batch;
    batch.feed = "market";
    batch.postings = {stale};
    batch.seen_at = now - 48h;
    ASSERT_TRUE(db->write_page(batch).ok());
  }

  auto result = run_binary({"run", "--feed", "market", "--json"}, env_for(sim, feeds_path));

  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  auto stored = stored_by_id();
  EXPECT_FALSE(stored.contains(stale.id));
  EXPECT_EQ(stored.size(), 50u);
}

}  // namespace
}  // namespace job_fetcher::e2e
