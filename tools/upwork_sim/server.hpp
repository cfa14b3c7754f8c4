// The HTTP face of the simulator: Upwork's endpoints plus the /__sim control endpoints.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>

#include <httplib.h>

#include "catalog.hpp"
#include "faults.hpp"
#include "stream.hpp"
#include "tokens.hpp"

namespace job_fetcher::upwork_sim {

struct simulator_options {
  std::chrono::milliseconds latency_min{0};  // added before each API response
  std::chrono::milliseconds latency_max{0};
  std::uint64_t seed = 1;
  // Time of control-endpoint publications; empty: the system clock.
  std::function<sim_time()> clock;
  // Faults drawn for API requests when none is queued; may be null. Must outlive the simulator.
  random_faults* random = nullptr;
  // The stream whose status GET /__sim/clock returns; may be null.
  const day_stream* stream = nullptr;
};

// Routes requests to the catalog and token registry, counts them and applies queued faults.
// The catalog and registry must outlive the simulator.
class simulator {
 public:
  simulator(catalog& jobs, token_registry& tokens, simulator_options options);

  // Registers every route on `server`. `port` is the port the server is bound to.
  void install(httplib::Server& server, int port);

 private:
  enum class api_endpoint { visitor, marketplace, token };

  // Per-request facts that a fault hands to the endpoint handler.
  struct request_context {
    bool pagination_fault = false;
  };

  using api_handler = void (simulator::*)(const httplib::Request&, httplib::Response&,
                                          const request_context&);

  void serve_api(api_endpoint endpoint, const httplib::Request& req, httplib::Response& res,
                 api_handler handler);
  bool apply_fault(const fault& next, const httplib::Request& req, httplib::Response& res,
                   request_context& context);
  void wait_latency();

  void handle_home(const httplib::Request& req, httplib::Response& res);
  void handle_visitor(const httplib::Request& req, httplib::Response& res,
                      const request_context& context);
  void handle_marketplace(const httplib::Request& req, httplib::Response& res,
                          const request_context& context);
  void handle_token(const httplib::Request& req, httplib::Response& res,
                    const request_context& context);

  void handle_publish(const httplib::Request& req, httplib::Response& res);
  void handle_renew(const httplib::Request& req, httplib::Response& res);
  void handle_delete(const httplib::Request& req, httplib::Response& res);
  void handle_faults(const httplib::Request& req, httplib::Response& res);
  void handle_stats(httplib::Response& res) const;
  void handle_published(httplib::Response& res) const;
  void handle_history(httplib::Response& res) const;
  void handle_clock(httplib::Response& res) const;
  sim_time now() const;
  void handle_posting(const httplib::Request& req, httplib::Response& res) const;
  void reset_stats();

  catalog& jobs_;
  token_registry& tokens_;
  simulator_options options_;
  fault_queue faults_;
  int port_ = 0;

  std::atomic<std::uint64_t> home_requests_{0};
  std::atomic<std::uint64_t> visitor_requests_{0};
  std::atomic<std::uint64_t> marketplace_requests_{0};
  std::atomic<std::uint64_t> token_requests_{0};

  std::mutex latency_mutex_;
  std::mt19937_64 latency_rng_;
};

}  // namespace job_fetcher::upwork_sim
