// lambda-runtime-double: the Lambda Runtime API double as a program, for tests that start the
// packaged `bootstrap` in another process (a chroot).
//
// Usage: lambda-runtime-double --event JSON [--event JSON ...] [--timeout-ms N]
//
// Prints "listening 127.0.0.1:PORT" as its first line, queues the events, waits until the
// runtime posted one response or error per event, then prints every POST as one JSON object per
// line ({"kind", "request_id", "status", "error_type", "body"}). Exits 0 when every event got a
// posted result, 1 on timeout, 2 on invalid arguments.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "doubles/lambda_runtime/lambda_runtime_double.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> events;
  long timeout_ms = 60'000;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--event" && i + 1 < argc) {
      events.emplace_back(argv[++i]);
    } else if (arg == "--timeout-ms" && i + 1 < argc) {
      timeout_ms = std::strtol(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr,
                   "usage: lambda-runtime-double --event JSON [--event JSON ...] "
                   "[--timeout-ms N]\n");
      return 2;
    }
  }

  job_fetcher::doubles::lambda_runtime_double runtime;
  std::printf("listening %s\n", runtime.endpoint().c_str());
  std::fflush(stdout);

  for (auto& event : events) runtime.enqueue(std::move(event));
  bool all_posted = runtime.wait_for_posts(events.size(), std::chrono::milliseconds{timeout_ms});

  for (const auto& post : runtime.posts()) {
    nlohmann::json line = {{"kind", post.kind},
                           {"request_id", post.request_id},
                           {"status", post.status},
                           {"error_type", post.header("lambda-runtime-function-error-type")},
                           {"body", post.body}};
    std::printf("%s\n",
                line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
  std::fflush(stdout);
  if (!all_posted) {
    std::fprintf(stderr, "lambda-runtime-double: %zu results posted for %zu events within %ld ms\n",
                 runtime.posts().size(), events.size(), timeout_ms);
    return 1;
  }
  return 0;
}
