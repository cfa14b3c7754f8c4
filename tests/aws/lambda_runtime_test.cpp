#include "aws/lambda_runtime.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "doubles/lambda_runtime/lambda_runtime_double.hpp"

namespace job_fetcher::aws {
namespace {

using doubles::lambda_event;
using doubles::lambda_post;
using doubles::lambda_runtime_double;
using doubles::runtime_endpoint;
using namespace std::chrono_literals;

// A clock whose sleeps only record their length; steady time advances by each sleep.
class recording_clock final : public clock_source {
 public:
  timestamp now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now() + slept_;
  }
  void sleep_for(std::chrono::milliseconds duration) override {
    sleeps.push_back(duration);
    slept_ += duration;
  }

  std::vector<std::chrono::milliseconds> sleeps;

 private:
  std::chrono::milliseconds slept_{0};
};

class lambda_runtime_test : public ::testing::Test {
 protected:
  lambda_runtime_test() : http_(http::make_curl_client()), api_(*http_, runtime_.endpoint()) {}

  int run(const handler& handle, std::size_t invocations) {
    loop_options options;
    options.max_invocations = invocations;
    return run_invocation_loop(api_, handle, clock_, options);
  }

  static handler echo_handler() {
    return [](const invocation& current) {
      return handler_result::success(nlohmann::json{{"echo", current.payload}}.dump());
    };
  }

  lambda_runtime_double runtime_;
  std::unique_ptr<http::client> http_;
  runtime_api api_;
  recording_clock clock_;
};

TEST_F(lambda_runtime_test, success_posts_the_response) {
  std::string id = runtime_.enqueue(R"({"feed": "python"})");

  EXPECT_EQ(run(echo_handler(), 1), 0);

  auto posts = runtime_.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, "response");
  EXPECT_EQ(posts[0].request_id, id);
  EXPECT_EQ(posts[0].status, 202);
  EXPECT_EQ(nlohmann::json::parse(posts[0].body)["echo"], R"({"feed": "python"})");
}

TEST_F(lambda_runtime_test, invocation_fields_come_from_headers) {
  lambda_event event;
  event.payload = "{}";
  event.request_id = "req-fields";
  event.deadline = clock_.now() + 42s;
  event.function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:fetcher";
  event.trace_id = "Root=1-00000000-000000000000000000000001;Sampled=1";
  runtime_.enqueue(event);

  invocation seen;
  std::string trace_env;
  EXPECT_EQ(run(
                [&](const invocation& current) {
                  seen = current;
                  const char* value = std::getenv("_X_AMZN_TRACE_ID");
                  trace_env = value ? value : "";
                  return handler_result::success("{}");
                },
                1),
            0);

  EXPECT_EQ(seen.request_id, "req-fields");
  EXPECT_EQ(seen.deadline, *event.deadline);
  EXPECT_EQ(seen.invoked_function_arn, *event.function_arn);
  EXPECT_EQ(seen.trace_id, *event.trace_id);
  EXPECT_EQ(trace_env, *event.trace_id);
  EXPECT_TRUE(seen.cold_start);
  EXPECT_GT(seen.remaining(clock_), 30s);
  EXPECT_LE(seen.remaining(clock_), 42s);
  EXPECT_EQ(std::getenv("_X_AMZN_TRACE_ID"), nullptr) << "the trace id outlived its invocation";
}

TEST_F(lambda_runtime_test, missing_trace_header_clears_the_variable) {
  ::setenv("_X_AMZN_TRACE_ID", "stale", 1);
  lambda_event event;
  event.trace_id = "";
  runtime_.enqueue(event);

  bool variable_set = true;
  EXPECT_EQ(run(
                [&](const invocation&) {
                  variable_set = std::getenv("_X_AMZN_TRACE_ID") != nullptr;
                  return handler_result::success("{}");
                },
                1),
            0);
  EXPECT_FALSE(variable_set);
}

TEST_F(lambda_runtime_test, failure_posts_error_and_loop_continues) {
  std::string failing = runtime_.enqueue(R"({"feed": "broken"})");
  std::string next = runtime_.enqueue(R"({"feed": "python"})");

  EXPECT_EQ(run(
                [](const invocation& current) {
                  if (current.payload.find("broken") != std::string::npos) {
                    return handler_result::failure("scope", "the token lacks a scope");
                  }
                  return handler_result::success(R"({"status":"ok"})");
                },
                2),
            0);

  auto posts = runtime_.posts();
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].kind, "error");
  EXPECT_EQ(posts[0].request_id, failing);
  EXPECT_EQ(posts[0].status, 202);
  EXPECT_EQ(posts[0].header("lambda-runtime-function-error-type"), "scope");
  auto body = nlohmann::json::parse(posts[0].body);
  EXPECT_EQ(body["errorType"], "scope");
  EXPECT_EQ(body["errorMessage"], "the token lacks a scope");
  EXPECT_EQ(posts[1].kind, "response");
  EXPECT_EQ(posts[1].request_id, next);
}

TEST_F(lambda_runtime_test, thrown_exception_is_reported_as_error) {
  runtime_.enqueue("{}");
  runtime_.enqueue("{}");
  int calls = 0;

  EXPECT_EQ(run(
                [&](const invocation&) -> handler_result {
                  if (++calls == 1) throw std::runtime_error("database vanished");
                  return handler_result::success("{}");
                },
                2),
            0);

  auto posts = runtime_.posts();
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].kind, "error");
  auto body = nlohmann::json::parse(posts[0].body);
  EXPECT_EQ(body["errorType"], "Runtime.UnhandledException");
  EXPECT_EQ(body["errorMessage"], "database vanished");
  EXPECT_EQ(posts[1].kind, "response");
}

TEST_F(lambda_runtime_test, error_from_error_model_uses_class_name) {
  runtime_.enqueue("{}");
  error failure = make_error(error_class::rate_limited, "Upwork answered 429 three times");

  EXPECT_EQ(run([&](const invocation&) { return handler_result::failure(failure); }, 1), 0);

  auto posts = runtime_.posts();
  ASSERT_EQ(posts.size(), 1u);
  auto body = nlohmann::json::parse(posts[0].body);
  EXPECT_EQ(body["errorType"], "rate_limited");
  EXPECT_EQ(body["errorMessage"], failure.describe());
}

TEST_F(lambda_runtime_test, oversized_response_is_rejected_and_loop_continues) {
  runtime_.enqueue("{}");
  runtime_.enqueue("{}");
  int calls = 0;

  EXPECT_EQ(
      run(
          [&](const invocation&) {
            if (++calls == 1) {
              return handler_result::success("\"" + std::string(max_response_bytes, 'x') + "\"");
            }
            return handler_result::success("{}");
          },
          2),
      0);

  auto posts = runtime_.posts();
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].status, 413);
  EXPECT_EQ(posts[1].status, 202);
}

TEST_F(lambda_runtime_test, next_retries_with_backoff_after_server_errors) {
  runtime_.inject_failure(runtime_endpoint::next, 3);
  runtime_.enqueue("{}");

  EXPECT_EQ(run(echo_handler(), 1), 0);

  EXPECT_EQ(runtime_.next_requests(), 4u);
  EXPECT_EQ(clock_.sleeps, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms}));
  ASSERT_EQ(runtime_.posts().size(), 1u);
}

TEST_F(lambda_runtime_test, next_gives_up_after_bounded_attempts) {
  runtime_.inject_failure(runtime_endpoint::next, 10);
  loop_options options;
  options.max_next_attempts = 4;

  EXPECT_EQ(run_invocation_loop(api_, echo_handler(), clock_, options), 1);

  EXPECT_EQ(runtime_.next_requests(), 4u);
  EXPECT_EQ(clock_.sleeps.size(), 3u);
}

TEST_F(lambda_runtime_test, unreachable_api_exits_non_zero) {
  std::string endpoint = runtime_.endpoint();
  runtime_.stop();
  runtime_api unreachable(*http_, endpoint);
  loop_options options;
  options.max_next_attempts = 3;
  options.backoff_max = 150ms;

  EXPECT_EQ(run_invocation_loop(unreachable, echo_handler(), clock_, options), 1);
  EXPECT_EQ(clock_.sleeps, (std::vector<std::chrono::milliseconds>{100ms, 150ms}));
}

TEST_F(lambda_runtime_test, invalid_deadline_is_reported_for_that_invocation) {
  lambda_event bad;
  bad.raw_deadline = "soon";
  std::string bad_id = runtime_.enqueue(bad);
  std::string good_id = runtime_.enqueue("{}");
  std::vector<std::string> handled;

  EXPECT_EQ(run(
                [&](const invocation& current) {
                  handled.push_back(current.request_id);
                  return handler_result::success("{}");
                },
                1),
            0);

  EXPECT_EQ(handled, std::vector<std::string>{good_id});
  auto posts = runtime_.posts();
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].kind, "error");
  EXPECT_EQ(posts[0].request_id, bad_id);
  EXPECT_EQ(nlohmann::json::parse(posts[0].body)["errorType"], "Runtime.InvalidInvocation");
  EXPECT_TRUE(clock_.sleeps.empty());
}

TEST_F(lambda_runtime_test, second_invocation_is_warm_with_idle_time) {
  runtime_.enqueue("{}");
  runtime_.enqueue("{}");
  std::vector<invocation> seen;

  EXPECT_EQ(run(
                [&](const invocation& current) {
                  seen.push_back(current);
                  if (seen.size() == 1) clock_.sleep_for(1500ms);  // work that takes time
                  return handler_result::success("{}");
                },
                2),
            0);

  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].cold_start);
  EXPECT_FALSE(seen[1].cold_start);
  EXPECT_LT(seen[1].idle_before, 1500ms) << "idle time must not include the handler's own work";
}

TEST_F(lambda_runtime_test, post_response_with_unknown_id_fails) {
  runtime_.enqueue("{}");
  auto next = api_.next();
  ASSERT_TRUE(next.ok());

  auto posted = api_.post_response("not-the-request-id", "{}");
  ASSERT_FALSE(posted.ok());
  EXPECT_EQ(posted.err().http_status, 400);
  EXPECT_NE(posted.err().message.find("InvalidRequestID"), std::string::npos)
      << posted.err().message;
}

TEST_F(lambda_runtime_test, second_response_for_one_id_fails) {
  std::string id = runtime_.enqueue("{}");
  ASSERT_TRUE(api_.next().ok());
  ASSERT_TRUE(api_.post_response(id, "{}").ok());

  auto again = api_.post_response(id, "{}");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.err().http_status, 403);
  EXPECT_NE(again.err().message.find("InvalidStateTransition"), std::string::npos)
      << again.err().message;
}

TEST_F(lambda_runtime_test, init_error_is_posted_with_type) {
  ASSERT_TRUE(api_.post_init_error("Runtime.ConfigError", "JOB_FETCHER_STORE is invalid").ok());

  auto posts = runtime_.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, "init_error");
  EXPECT_EQ(posts[0].header("lambda-runtime-function-error-type"), "Runtime.ConfigError");
  EXPECT_EQ(nlohmann::json::parse(posts[0].body)["errorMessage"], "JOB_FETCHER_STORE is invalid");
}

TEST_F(lambda_runtime_test, next_waits_for_a_late_event) {
  std::atomic<bool> handled = false;
  std::thread loop([&] {
    EXPECT_EQ(run(
                  [&](const invocation&) {
                    handled = true;
                    return handler_result::success("{}");
                  },
                  1),
              0);
  });

  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(handled.load());
  runtime_.enqueue("{}");
  loop.join();

  EXPECT_TRUE(handled.load());
  EXPECT_EQ(runtime_.next_requests(), 1u) << "the long poll must not be retried";
}

class lambda_runtime_entry_test : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("AWS_LAMBDA_RUNTIME_API", runtime_.endpoint().c_str(), 1); }
  void TearDown() override { ::unsetenv("AWS_LAMBDA_RUNTIME_API"); }

  lambda_runtime_double runtime_;
};

TEST_F(lambda_runtime_entry_test, config_error_at_start_posts_init_error) {
  int code = run_lambda_runtime([]() -> handler {
    throw config_error("JOB_FETCHER_MAX_PAGES: invalid value \"x\", expected an integer");
  });

  EXPECT_EQ(code, 1);
  auto posts = runtime_.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, "init_error");
  EXPECT_EQ(posts[0].header("lambda-runtime-function-error-type"), "Runtime.ConfigError");
  EXPECT_EQ(runtime_.next_requests(), 0u);
}

TEST_F(lambda_runtime_entry_test, handler_runs_through_the_entry_point) {
  runtime_.enqueue(R"({"feed": "python"})");
  loop_options options;
  options.max_invocations = 1;

  int code = run_lambda_runtime(
      [] {
        return handler([](const invocation&) { return handler_result::success(R"({"ok":true})"); });
      },
      options);

  EXPECT_EQ(code, 0);
  auto posts = runtime_.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].body, R"({"ok":true})");
}

TEST(lambda_runtime_entry, missing_endpoint_exits_non_zero) {
  ::unsetenv("AWS_LAMBDA_RUNTIME_API");
  bool built = false;
  EXPECT_EQ(run_lambda_runtime([&] {
              built = true;
              return handler([](const invocation&) { return handler_result::success("{}"); });
            }),
            1);
  EXPECT_FALSE(built);
}

}  // namespace
}  // namespace job_fetcher::aws
