// Starts the upwork-sim binary for a test and drives its /__sim control endpoints.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace job_fetcher::doubles {

// Request counters and catalog sizes from GET /__sim/stats.
struct sim_stats {
  std::uint64_t home_requests = 0;
  std::uint64_t visitor_requests = 0;
  std::uint64_t marketplace_requests = 0;
  std::uint64_t token_requests = 0;
  std::size_t published = 0;
  std::size_t pool = 0;
};

// One running upwork-sim process on 127.0.0.1 and an ephemeral port. The constructor returns
// once the simulator listens; the destructor stops it. Every method throws std::runtime_error
// when the process cannot be started or a control request fails.
class sim_process {
 public:
  // Starts the binary built at JOB_FETCHER_BINARY_DIR/tools/upwork_sim/upwork-sim with
  // `--data data_file --port 0` plus `args` (for example {"--published", "100"}).
  explicit sim_process(std::vector<std::string> args = {},
                       std::string data_file = default_data_file());
  ~sim_process();

  sim_process(const sim_process&) = delete;
  sim_process& operator=(const sim_process&) = delete;

  static std::string default_data_file();

  // "http://127.0.0.1:PORT", without a trailing slash.
  const std::string& base_url() const { return base_url_; }
  int port() const { return port_; }

  // Publishes n pool postings at the top. Returns how many were published.
  std::size_t publish(std::size_t n);
  // Moves n random published postings below the top to the top. Returns how many moved.
  std::size_t renew(std::size_t n);
  // Removes n random published postings. Returns how many were removed.
  std::size_t remove(std::size_t n);
  void expire_tokens();
  // Replaces the fault queue. Takes the array, or an object {"faults": [...]}.
  void set_faults(const nlohmann::json& faults);
  sim_stats stats();
  void reset_stats();
  // Ids currently published, newest first.
  std::vector<std::string> published_ids();
  // {"record": <data file line>, "publish_time", "create_time", "cursor"} of a published
  // posting; null when no published posting has that id.
  nlohmann::json posting(const std::string& id);
  // Fetches a new visitor token the way clients do: GET / and read the visitor_gql_token cookie.
  // This counts as a home request.
  std::string visitor_token();

 private:
  nlohmann::json control(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr);
  void stop();

  pid_t pid_ = -1;
  int port_ = 0;
  std::string base_url_;
};

}  // namespace job_fetcher::doubles
