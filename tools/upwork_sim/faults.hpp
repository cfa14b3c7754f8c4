// Faults queued through POST /__sim/faults, applied one per API request in order.
#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace job_fetcher::upwork_sim {

enum class fault_kind {
  status,                      // respond with `status` and a plausible body
  cloudflare,                  // 403 Cloudflare challenge page
  truncate,                    // promise the full Content-Length, send half, close
  graphql_error,               // HTTP 200 with errors[] and data null
  reset,                       // close the connection without a response
  slow,                        // wait `ms` milliseconds, then respond normally
  marketplace_pagination_500,  // 500 when a marketplace request passes pagination as variables
  expire_tokens,               // expire every issued token, then serve (the request gets 401)
};

struct fault {
  fault_kind kind = fault_kind::status;
  int status = 500;
  int retry_after_seconds = 1;
  int ms = 0;
  std::string message;
  nlohmann::json extensions;
};

// Reads one entry of the `faults` array, such as {"status": 429, "retry_after": 1} or
// {"kind": "slow", "ms": 200}. Throws std::invalid_argument naming the problem.
fault parse_fault(const nlohmann::json& entry);

// A thread-safe FIFO of faults.
class fault_queue {
 public:
  void replace(std::deque<fault> faults);
  std::optional<fault> pop();
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::deque<fault> faults_;
};

}  // namespace job_fetcher::upwork_sim
