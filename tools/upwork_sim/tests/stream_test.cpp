// Stream mode (--stream-day) and random faults (--fault-rate), driven over loopback HTTP.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "doubles/sim/sim_process.hpp"

namespace {

using job_fetcher::doubles::sim_process;
using nlohmann::json;

json get_json(const sim_process& sim, const std::string& path) {
  httplib::Client client("127.0.0.1", sim.port());
  auto result = client.Get(path.c_str());
  if (!result || result->status != 200) {
    throw std::runtime_error("GET " + path + " failed");
  }
  return json::parse(result->body);
}

// Waits until the simulated day has played; a day at speed 86400 takes one real second.
json wait_for_day(const sim_process& sim) {
  for (int i = 0; i < 300; ++i) {
    json clock = get_json(sim, "/__sim/clock");
    if (clock["day_done"].get<bool>()) {
      return clock;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  throw std::runtime_error("the simulated day did not end in time");
}

TEST(sim_stream, day_publishes_unique_new_postings) {
  sim_process sim({"--published", "100", "--stream-day", "--speed", "86400", "--day-postings",
                   "400", "--seed", "4"});
  json clock = wait_for_day(sim);
  EXPECT_EQ(clock["events_total"].get<int>(), 400 + 400 / 20 + 400 / 40);

  json history = get_json(sim, "/__sim/history");
  const std::string day_start = clock["day_start"];
  std::set<std::string> new_ids;
  int late = 0;
  int deleted = 0;
  for (const auto& entry : history) {
    if (entry["deleted_at"].is_string()) ++deleted;
    if (entry["published_at"].get<std::string>() < day_start) continue;
    const std::string id = entry["id"];
    EXPECT_EQ(id.size(), 19u) << id;
    EXPECT_EQ(id[0], '2') << id;
    new_ids.insert(id);
    if (entry["published_at"].get<std::string>() > entry["publish_time"].get<std::string>()) {
      ++late;
    }
  }
  EXPECT_EQ(new_ids.size(), 400u);
  EXPECT_GT(late, 0);
  EXPECT_EQ(deleted, 400 / 40);
}

TEST(sim_stream, same_seed_gives_same_ids) {
  std::vector<std::string> first;
  for (int round = 0; round < 2; ++round) {
    sim_process sim({"--published", "10", "--stream-day", "--speed", "86400", "--day-postings",
                     "50", "--seed", "9"});
    wait_for_day(sim);
    std::vector<std::string> ids;
    for (const auto& entry : get_json(sim, "/__sim/history")) ids.push_back(entry["id"]);
    std::sort(ids.begin(), ids.end());
    if (round == 0) {
      first = ids;
    } else {
      EXPECT_EQ(ids, first);
    }
  }
}

TEST(sim_stream, published_list_stays_newest_first) {
  sim_process sim({"--published", "50", "--stream-day", "--speed", "86400", "--day-postings",
                   "300", "--seed", "5"});
  wait_for_day(sim);
  json history = get_json(sim, "/__sim/history");
  std::map<std::string, std::string> last_time;
  for (const auto& entry : history) last_time[entry["id"]] = entry["last_publish_time"];
  auto published = sim.published_ids();
  ASSERT_GT(published.size(), 300u);
  for (std::size_t i = 1; i < published.size(); ++i) {
    EXPECT_GE(last_time[published[i - 1]], last_time[published[i]]) << "position " << i;
  }
}

TEST(sim_stream, fault_rate_one_fails_every_api_request) {
  sim_process sim({"--published", "20", "--fault-rate", "1", "--seed", "3"});
  httplib::Client client("127.0.0.1", sim.port());
  client.set_read_timeout(std::chrono::seconds{10});
  int failed = 0;
  for (int i = 0; i < 20; ++i) {
    auto result = client.Post("/api/graphql/v1", R"({"query":"{}"})", "application/json");
    // Every fault either ends the exchange early or returns a status other than 200. A slow
    // fault still returns a response, which is 401 because the request carries no token.
    if (!result || result->status != 200) ++failed;
  }
  EXPECT_EQ(failed, 20);
}

TEST(sim_stream, clock_without_stream_reports_real_time) {
  sim_process sim({"--published", "5"});
  json clock = get_json(sim, "/__sim/clock");
  EXPECT_FALSE(clock["stream"].get<bool>());
  EXPECT_TRUE(clock["now"].is_string());
}

}  // namespace
