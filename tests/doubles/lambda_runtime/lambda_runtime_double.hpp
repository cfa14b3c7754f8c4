// A loopback stand-in for the AWS Lambda Runtime API (version 2018-06-01), with the status codes
// and error bodies of the AWS Lambda Runtime Interface Emulator:
//   GET  /2018-06-01/runtime/invocation/next          long poll until an event is queued
//   POST /2018-06-01/runtime/invocation/{id}/response 202 {"status":"OK"}
//   POST /2018-06-01/runtime/invocation/{id}/error    202 {"status":"OK"}
//   POST /2018-06-01/runtime/init/error               202 {"status":"OK"}
// Failures: 400 InvalidRequestID for an id that is not the invocation in flight, 403
// InvalidStateTransition when no invocation is in flight (a second response for one id) or when
// /next is called with one in flight, 413 RequestEntityTooLarge for a response body over 6 MiB
// (which also ends the invocation, as on Lambda), and injected 500 InternalServerError.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"

namespace httplib {
class Server;
}

namespace job_fetcher::doubles {

// One queued invocation. Unset members get defaults: a fresh UUID-shaped request id, a deadline
// 60 seconds after delivery, a test function ARN and an X-Ray trace header.
struct lambda_event {
  std::string payload;
  std::optional<std::string> request_id;
  std::optional<timestamp> deadline;
  std::optional<std::string> function_arn;
  std::optional<std::string> trace_id;      // "" sends no trace header
  std::optional<std::string> raw_deadline;  // sent verbatim instead of `deadline`, to test parsing
};

// One POST the runtime made, with the answer the double gave.
struct lambda_post {
  std::string kind;        // "response", "error" or "init_error"
  std::string request_id;  // empty for init_error
  int status = 0;          // the status the double returned
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case

  // Returns the header with this (lower-case) name, or "".
  std::string header(const std::string& name) const;
};

// Which requests an injected failure applies to.
enum class runtime_endpoint { next, response, error, init_error };

class lambda_runtime_double {
 public:
  // Starts listening on 127.0.0.1 at an ephemeral port.
  lambda_runtime_double();
  ~lambda_runtime_double();
  lambda_runtime_double(const lambda_runtime_double&) = delete;
  lambda_runtime_double& operator=(const lambda_runtime_double&) = delete;

  // "127.0.0.1:PORT", the value for AWS_LAMBDA_RUNTIME_API.
  std::string endpoint() const;

  // Queues an event for /next and returns its request id.
  std::string enqueue(lambda_event event);
  std::string enqueue(std::string payload);

  // Answers the next `count` requests to `endpoint` with HTTP `status` and an
  // InternalServerError body.
  void inject_failure(runtime_endpoint endpoint, std::size_t count, int status = 500);

  // Every POST received so far, in arrival order.
  std::vector<lambda_post> posts() const;
  // Waits until at least `count` POSTs arrived or `timeout` passed; returns whether they did.
  bool wait_for_posts(std::size_t count, std::chrono::milliseconds timeout) const;
  // The number of /next requests received, failed ones included.
  std::size_t next_requests() const;

  // Stops the server; /next requests still waiting get HTTP 500.
  void stop();

 private:
  void install_routes();
  bool take_injected_failure(runtime_endpoint endpoint, int& status);

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::deque<lambda_event> queue_;
  std::optional<std::string> in_flight_;
  bool next_called_ = false;
  bool stopping_ = false;
  std::size_t next_requests_ = 0;
  std::size_t generated_ids_ = 0;
  std::vector<lambda_post> posts_;
  std::map<runtime_endpoint, std::deque<int>> injected_;
};

}  // namespace job_fetcher::doubles
