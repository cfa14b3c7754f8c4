// The Lambda faces of the job-fetcher binary, end to end: the real binary as a custom runtime
// against the Runtime API double, with upwork-sim as Upwork and a SQLite file as the store.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "doubles/lambda_runtime/lambda_runtime_double.hpp"
#include "e2e/e2e_support.hpp"

namespace job_fetcher::e2e {
namespace {

using namespace std::chrono_literals;
using doubles::lambda_event;
using doubles::lambda_post;
using doubles::lambda_runtime_double;
using doubles::sim_process;

// An EventBridge rule envelope, as a schedule rule delivers it.
std::string scheduled_event(const std::string& event_id) {
  nlohmann::json envelope = {
      {"version", "0"},
      {"id", event_id},
      {"detail-type", "Scheduled Event"},
      {"source", "aws.events"},
      {"account", "123456789012"},
      {"time", format_timestamp(system_clock_source().now())},
      {"region", "us-east-1"},
      {"resources", {"arn:aws:events:us-east-1:123456789012:rule/job-fetcher-every-5m"}},
      {"detail", nlohmann::json::object()},
  };
  return envelope.dump();
}

lambda_event event_with_deadline(const std::string& payload, std::chrono::milliseconds left) {
  lambda_event event;
  event.payload = payload;
  event.deadline = system_clock_source().now() + left;
  return event;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

class lambda_face : public ::testing::Test {
 protected:
  std::string store_url() const { return "sqlite:" + (dir_.path() / "jobs.db").string(); }

  // The environment of a fetch function aimed at `sim` and `runtime`.
  std::vector<std::string> function_env(const sim_process& sim,
                                         const lambda_runtime_double& runtime) const {
    return {"AWS_LAMBDA_RUNTIME_API=" + runtime.endpoint(),
            "UPWORK_VISITOR_URL=" + sim.base_url() + "/api/graphql/v1?alias=visitorJobSearch",
            "UPWORK_HOME_URL=" + sim.base_url() + "/",
            "JOB_FETCHER_STORE=" + store_url(),
            "JOB_FETCHER_RATE=1000",
            "JOB_FETCHER_RATE_BURST=100",
            "JOB_FETCHER_BACKOFF_BASE=5ms",
            "JOB_FETCHER_BACKOFF_MAX=50ms",
            "JOB_FETCHER_SAFETY_MARGIN=1s"};
  }

  static std::vector<std::string> with(std::vector<std::string> env,
                                       const std::vector<std::string>& extra) {
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
  }

  // Waits for the `count`-th POST to the runtime and returns it.
  static lambda_post nth_post(const lambda_runtime_double& runtime, std::size_t count,
                              fetcher_process& process, std::chrono::milliseconds timeout = 12s) {
    bool arrived = runtime.wait_for_posts(count, timeout);
    EXPECT_TRUE(arrived) << "post " << count << " did not arrive; stdout:\n"
                         << process.out() << "\nstderr:\n"
                         << process.err();
    if (!arrived) return {};
    return runtime.posts()[count - 1];
  }

  // Waits until the process has asked for `count` invocations, so it idles in /next.
  static bool wait_for_next(const lambda_runtime_double& runtime, std::size_t count) {
    auto until = std::chrono::steady_clock::now() + 10s;
    while (runtime.next_requests() < count) {
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  std::vector<std::string> stored_ids() {
    auto db = open_for_inspection(store_url());
    if (!db) return {};
    auto rows = db->read_postings(100000);
    EXPECT_TRUE(rows.ok());
    std::vector<std::string> ids;
    if (!rows) return ids;
    for (const auto& row : *rows) ids.push_back(row.posting.id);
    return ids;
  }

  // Ledger rows, newest first.
  std::vector<store::run_record> runs() {
    auto db = open_for_inspection(store_url());
    if (!db) return {};
    auto rows = db->recent_runs(std::nullopt, 100);
    EXPECT_TRUE(rows.ok());
    return rows ? *rows : std::vector<store::run_record>{};
  }

  temp_dir dir_;
};

nlohmann::json parse_body(const lambda_post& post) {
  auto body = nlohmann::json::parse(post.body, nullptr, false);
  EXPECT_FALSE(body.is_discarded()) << post.body;
  return body;
}

TEST_F(lambda_face, serves_success_failure_success_in_one_process) {
  sim_process sim({"--published", "300"});
  lambda_runtime_double runtime;
  auto first_id = runtime.enqueue(scheduled_event("event-1"));
  fetcher_process fetcher({}, with(function_env(sim, runtime), {"JOB_FETCHER_BACKFILL=100"}));

  auto first = nth_post(runtime, 1, fetcher);
  EXPECT_EQ(first.kind, "response");
  EXPECT_EQ(first.request_id, first_id);
  auto summary = parse_body(first);
  EXPECT_EQ(summary["status"], "ok") << first.body;
  EXPECT_EQ(summary["postings_new"], 100);
  EXPECT_EQ(stored_ids().size(), 100u);

  // Two 401s in a row: the token is renewed once, then the run fails as auth.
  ASSERT_TRUE(wait_for_next(runtime, 2));
  sim.set_faults({{{"status", 401}}, {{"status", 401}}});
  auto second_id = runtime.enqueue(scheduled_event("event-2"));
  auto second = nth_post(runtime, 2, fetcher);
  EXPECT_EQ(second.kind, "error");
  EXPECT_EQ(second.request_id, second_id);
  EXPECT_EQ(second.header("lambda-runtime-function-error-type"), "auth");
  auto error_body = parse_body(second);
  EXPECT_EQ(error_body.value("errorType", ""), "auth") << second.body;
  EXPECT_FALSE(error_body.value("errorMessage", "").empty()) << second.body;

  ASSERT_TRUE(wait_for_next(runtime, 3));
  sim.publish(20);
  auto third_id = runtime.enqueue(scheduled_event("event-3"));
  auto third = nth_post(runtime, 3, fetcher);
  EXPECT_EQ(third.kind, "response");
  EXPECT_EQ(third.request_id, third_id);
  auto third_summary = parse_body(third);
  EXPECT_EQ(third_summary["status"], "ok") << third.body;
  EXPECT_EQ(third_summary["postings_new"], 20);
  EXPECT_EQ(stored_ids().size(), 120u);

  EXPECT_TRUE(wait_for_next(runtime, 4));
  EXPECT_TRUE(fetcher.running()) << fetcher.err();
  auto ledger = runs();
  ASSERT_EQ(ledger.size(), 3u);
  EXPECT_EQ(ledger[0].status, "ok");
  EXPECT_EQ(ledger[1].status, "failed");
  EXPECT_EQ(ledger[1].error_class.value_or(""), "auth");
  EXPECT_EQ(ledger[2].status, "ok");
}

TEST_F(lambda_face, deadline_ends_partial_and_next_event_closes_gap) {
  sim_process sim({"--published", "1000", "--latency-ms", "500"});
  lambda_runtime_double runtime;
  runtime.enqueue(scheduled_event("event-1"));
  fetcher_process fetcher({}, with(function_env(sim, runtime), {"JOB_FETCHER_BACKFILL=50"}));
  auto first = nth_post(runtime, 1, fetcher);
  ASSERT_EQ(first.kind, "response") << first.body;
  auto old_ids = stored_ids();
  ASSERT_EQ(old_ids.size(), 50u);

  // 400 new postings take 8 pages at 500 ms each, more than a 3-second deadline leaves room for.
  ASSERT_TRUE(wait_for_next(runtime, 2));
  sim.publish(400);
  auto new_ids = sim.published_ids();
  new_ids.resize(400);
  auto short_event = event_with_deadline(scheduled_event("event-2"), 3000ms);
  auto deadline = *short_event.deadline;
  runtime.enqueue(short_event);
  auto second = nth_post(runtime, 2, fetcher);
  auto posted_at = system_clock_source().now();

  EXPECT_EQ(second.kind, "response") << second.body;
  EXPECT_LE(posted_at, deadline) << "the response came "
                                 << (posted_at - deadline).count() << " ms after the deadline";
  auto summary = parse_body(second);
  EXPECT_EQ(summary["status"], "partial") << second.body;
  EXPECT_EQ(summary["stop_reason"], "deadline") << second.body;
  EXPECT_TRUE(summary["gap"].is_object()) << second.body;
  EXPECT_GT(summary["postings_new"].get<int>(), 0);
  EXPECT_LT(summary["postings_new"].get<int>(), 400);
  auto ledger = runs();
  ASSERT_FALSE(ledger.empty());
  EXPECT_EQ(ledger[0].status, "partial");
  EXPECT_TRUE(ledger[0].gap.has_value());

  ASSERT_TRUE(wait_for_next(runtime, 3));
  runtime.enqueue(scheduled_event("event-3"));
  auto third = nth_post(runtime, 3, fetcher);
  EXPECT_EQ(third.kind, "response") << third.body;
  auto closing = parse_body(third);
  EXPECT_EQ(closing["status"], "ok") << third.body;
  EXPECT_TRUE(closing["gap"].is_null()) << third.body;

  auto ids = stored_ids();
  std::set<std::string> stored(ids.begin(), ids.end());
  EXPECT_EQ(stored.size(), ids.size()) << "duplicate rows";
  for (const auto& id : new_ids) EXPECT_TRUE(stored.contains(id)) << "missing " << id;
  for (const auto& id : old_ids) EXPECT_TRUE(stored.contains(id)) << "lost " << id;
}

TEST_F(lambda_face, deadline_cuts_a_request_slower_than_the_margin) {
  sim_process sim({"--published", "1000", "--latency-ms", "200"});
  lambda_runtime_double runtime;
  runtime.enqueue(scheduled_event("event-1"));
  fetcher_process fetcher({}, with(function_env(sim, runtime), {"JOB_FETCHER_BACKFILL=50"}));
  ASSERT_EQ(nth_post(runtime, 1, fetcher).kind, "response");

  // The third search request hangs for 8 seconds, far past the 3-second deadline.
  ASSERT_TRUE(wait_for_next(runtime, 2));
  sim.publish(400);
  sim.set_faults({{{"kind", "slow"}, {"ms", 0}},
                  {{"kind", "slow"}, {"ms", 0}},
                  {{"kind", "slow"}, {"ms", 8000}}});
  auto short_event = event_with_deadline(scheduled_event("event-2"), 3000ms);
  auto deadline = *short_event.deadline;
  runtime.enqueue(short_event);
  auto second = nth_post(runtime, 2, fetcher);
  auto posted_at = system_clock_source().now();

  EXPECT_EQ(second.kind, "response") << second.body;
  EXPECT_LE(posted_at, deadline) << "the response came "
                                 << (posted_at - deadline).count() << " ms after the deadline";
  auto summary = parse_body(second);
  EXPECT_EQ(summary["status"], "partial") << second.body;
  EXPECT_EQ(summary["postings_new"], 100) << second.body;
}

TEST_F(lambda_face, same_event_twice_stores_nothing_new) {
  sim_process sim({"--published", "300"});
  lambda_runtime_double runtime;
  runtime.enqueue(scheduled_event("event-duplicate"));
  fetcher_process fetcher({}, with(function_env(sim, runtime), {"JOB_FETCHER_BACKFILL=120"}));
  auto first = nth_post(runtime, 1, fetcher);
  ASSERT_EQ(first.kind, "response") << first.body;
  EXPECT_EQ(parse_body(first)["postings_new"], 120);

  ASSERT_TRUE(wait_for_next(runtime, 2));
  runtime.enqueue(scheduled_event("event-duplicate"));
  auto second = nth_post(runtime, 2, fetcher);
  ASSERT_EQ(second.kind, "response") << second.body;
  auto summary = parse_body(second);
  EXPECT_EQ(summary["status"], "ok") << second.body;
  EXPECT_EQ(summary["postings_new"], 0) << second.body;
  EXPECT_EQ(summary["postings_updated"], 0) << second.body;

  auto ids = stored_ids();
  std::set<std::string> distinct(ids.begin(), ids.end());
  EXPECT_EQ(ids.size(), 120u);
  EXPECT_EQ(distinct.size(), ids.size()) << "duplicate rows";
}

TEST_F(lambda_face, concurrent_copies_of_event_run_once) {
  sim_process sim({"--published", "600", "--latency-ms", "300"});
  lambda_runtime_double runtime_a;
  lambda_runtime_double runtime_b;
  std::vector<std::string> extra{"JOB_FETCHER_BACKFILL=300"};
  fetcher_process fetcher_a({}, with(function_env(sim, runtime_a), extra));
  fetcher_process fetcher_b({}, with(function_env(sim, runtime_b), extra));
  ASSERT_TRUE(wait_for_next(runtime_a, 1));
  ASSERT_TRUE(wait_for_next(runtime_b, 1));

  // EventBridge delivered one event twice; each copy reaches a different process.
  auto payload = scheduled_event("event-twice");
  runtime_a.enqueue(payload);
  runtime_b.enqueue(payload);
  auto post_a = nth_post(runtime_a, 1, fetcher_a);
  auto post_b = nth_post(runtime_b, 1, fetcher_b);
  ASSERT_EQ(post_a.kind, "response") << post_a.body;
  ASSERT_EQ(post_b.kind, "response") << post_b.body;

  std::multiset<std::string> statuses{parse_body(post_a)["status"].get<std::string>(),
                                      parse_body(post_b)["status"].get<std::string>()};
  EXPECT_EQ(statuses, (std::multiset<std::string>{"ok", "skipped"}))
      << post_a.body << "\n" << post_b.body;
  auto ids = stored_ids();
  std::set<std::string> distinct(ids.begin(), ids.end());
  EXPECT_EQ(ids.size(), 300u);
  EXPECT_EQ(distinct.size(), ids.size()) << "duplicate rows";
  EXPECT_EQ(runs().size(), 1u) << "a skipped run writes no ledger row";
}

TEST_F(lambda_face, emf_line_per_invocation_and_no_token) {
  sim_process sim({"--published", "300"});
  lambda_runtime_double runtime;
  std::vector<std::string> request_ids;
  request_ids.push_back(runtime.enqueue(scheduled_event("event-1")));
  fetcher_process fetcher({}, with(function_env(sim, runtime), {"JOB_FETCHER_BACKFILL=60"}));
  ASSERT_EQ(nth_post(runtime, 1, fetcher).kind, "response");
  ASSERT_TRUE(wait_for_next(runtime, 2));
  sim.set_faults({{{"status", 401}}, {{"status", 401}}});
  request_ids.push_back(runtime.enqueue(scheduled_event("event-2")));
  ASSERT_EQ(nth_post(runtime, 2, fetcher).kind, "error");
  ASSERT_TRUE(wait_for_next(runtime, 3));
  // An event that cannot run (max_pages must be at least 1) counts as a failed invocation too.
  request_ids.push_back(runtime.enqueue(R"({"feed": "default", "max_pages": 0})"));
  auto rejected = nth_post(runtime, 3, fetcher);
  ASSERT_EQ(rejected.kind, "error");
  EXPECT_EQ(rejected.header("lambda-runtime-function-error-type"), "config");
  ASSERT_TRUE(wait_for_next(runtime, 4));
  fetcher.signal(SIGTERM);
  fetcher.wait_exit(5s);

  auto out = fetcher.out();
  auto err = fetcher.err();
  std::vector<nlohmann::json> emf;
  std::size_t invocation_lines = 0;
  for (const auto& line : lines_of(out)) {
    auto object = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(object.is_object()) << "stdout line is not a JSON object: " << line;
    if (object.contains("_aws")) {
      EXPECT_TRUE(object["_aws"].contains("CloudWatchMetrics")) << line;
      emf.push_back(object);
      continue;
    }
    EXPECT_TRUE(object.contains("level")) << line;
    EXPECT_TRUE(object.contains("msg")) << line;
    auto message = object.value("msg", "");
    if (message.starts_with("lambda.init")) continue;
    ++invocation_lines;
    EXPECT_TRUE(object.contains("request_id")) << "log line without request_id: " << line;
  }
  EXPECT_GT(invocation_lines, 0u);
  ASSERT_EQ(emf.size(), 3u) << out;
  EXPECT_EQ(emf[0].value("request_id", ""), request_ids[0]);
  EXPECT_EQ(emf[0].value("status", ""), "ok");
  EXPECT_EQ(emf[0].value("PostingsNew", -1), 60);
  EXPECT_EQ(emf[1].value("request_id", ""), request_ids[1]);
  EXPECT_EQ(emf[1].value("status", ""), "failed");
  EXPECT_EQ(emf[1].value("error_class", ""), "auth");
  EXPECT_EQ(emf[2].value("request_id", ""), request_ids[2]);
  EXPECT_EQ(emf[2].value("status", ""), "failed");
  EXPECT_EQ(emf[2].value("error_class", ""), "config");
  EXPECT_FALSE(emf[2].contains("run_id")) << "a rejected event has no ledger row";

  EXPECT_EQ(out.find("oauth2v2_"), std::string::npos) << "a bearer token reached stdout";
  EXPECT_EQ(err.find("oauth2v2_"), std::string::npos) << "a bearer token reached stderr";
}

TEST_F(lambda_face, authenticate_handler_mints_for_right_secret_only) {
  sim_process sim({"--published", "100"});
  lambda_runtime_double runtime;
  const std::string shared_secret = "correct-horse-battery-staple";
  auto right_id = runtime.enqueue(nlohmann::json{{"secret", shared_secret}}.dump());
  fetcher_process fetcher({}, with(function_env(sim, runtime),
                                   {"_HANDLER=authenticate", "AUTH_SECRET=" + shared_secret}));

  auto right = nth_post(runtime, 1, fetcher);
  EXPECT_EQ(right.kind, "response");
  EXPECT_EQ(right.request_id, right_id);
  auto minted = parse_body(right);
  EXPECT_EQ(minted.value("status_code", 0), 200) << "status " << minted.value("status_code", 0);
  auto token = minted.value("token", "");
  EXPECT_TRUE(token.starts_with("oauth2v2_")) << "the response holds no visitor token";
  EXPECT_EQ(sim.stats().home_requests, 1u);

  auto db = open_for_inspection(store_url());
  ASSERT_NE(db, nullptr);
  auto cached = db->read_token("UniversalSearch", system_clock_source().now());
  ASSERT_TRUE(cached.ok()) << cached.err().describe();
  ASSERT_TRUE(cached->has_value()) << "no token_tracker row";
  EXPECT_TRUE((*cached)->value.reveal() == token) << "token_tracker holds another token";

  ASSERT_TRUE(wait_for_next(runtime, 2));
  runtime.enqueue(nlohmann::json{{"secret", "wrong-secret"}}.dump());
  auto wrong = nth_post(runtime, 2, fetcher);
  EXPECT_EQ(wrong.kind, "response");
  auto rejected = parse_body(wrong);
  EXPECT_EQ(rejected.value("status_code", 0), 401) << wrong.body;
  EXPECT_FALSE(rejected.contains("token")) << wrong.body;
  EXPECT_EQ(sim.stats().home_requests, 1u) << "a wrong secret must not mint";

  ASSERT_TRUE(wait_for_next(runtime, 3));
  EXPECT_TRUE(fetcher.running());
  EXPECT_EQ(fetcher.out().find("oauth2v2_"), std::string::npos) << "a token reached stdout";
  EXPECT_EQ(fetcher.err().find("oauth2v2_"), std::string::npos) << "a token reached stderr";
}

TEST_F(lambda_face, unknown_handler_posts_init_error_and_exits) {
  sim_process sim({"--published", "100"});
  lambda_runtime_double runtime;
  fetcher_process fetcher({}, with(function_env(sim, runtime), {"_HANDLER=bogus"}));

  auto exit_code = fetcher.wait_exit(10s);
  ASSERT_TRUE(exit_code.has_value()) << "the process kept running";
  EXPECT_NE(*exit_code, 0);
  auto posts = runtime.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, "init_error");
  EXPECT_EQ(posts[0].header("lambda-runtime-function-error-type"), "Runtime.ConfigError");
  auto body = parse_body(posts[0]);
  EXPECT_NE(body.value("errorMessage", "").find("bogus"), std::string::npos) << posts[0].body;
  EXPECT_EQ(runtime.next_requests(), 0u);
  EXPECT_EQ(sim.stats().visitor_requests, 0u);
}

}  // namespace
}  // namespace job_fetcher::e2e
