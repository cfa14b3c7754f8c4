#include "server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "responses.hpp"

namespace job_fetcher::upwork_sim {
namespace {

// Writes one line to stderr; stdout carries only the listening line. Never pass a token here.
void log_event(const std::string& line) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::cerr << "upwork-sim: " << line << std::endl;
}

const char* fault_name(fault_kind kind) {
  switch (kind) {
    case fault_kind::status: return "status";
    case fault_kind::cloudflare: return "cloudflare";
    case fault_kind::truncate: return "truncate";
    case fault_kind::graphql_error: return "graphql_error";
    case fault_kind::reset: return "reset";
    case fault_kind::slow: return "slow";
    case fault_kind::marketplace_pagination_500: return "marketplace_pagination_500";
    case fault_kind::expire_tokens: return "expire_tokens";
  }
  return "unknown";
}

bool is_loopback(const std::string& address) {
  return address == "127.0.0.1" || address == "::1" || address == "::ffff:127.0.0.1";
}

// cpp-httplib hands a handler no socket, so the reset fault finds the connection among the
// process's descriptors by its two ports and shuts it down. The client then sees the
// connection close before any response byte. httplib's own write fails, and it closes the socket.
bool shut_down_connection(const httplib::Request& req, int server_port) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    const std::string name = entry.path().filename().string();
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc{}) {
      continue;
    }
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t local_size = sizeof local;
    socklen_t peer_size = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0 ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0 ||
        local.ss_family != AF_INET || peer.ss_family != AF_INET) {
      continue;
    }
    const auto* local_in = reinterpret_cast<const sockaddr_in*>(&local);
    const auto* peer_in = reinterpret_cast<const sockaddr_in*>(&peer);
    if (ntohs(local_in->sin_port) != server_port || ntohs(peer_in->sin_port) != req.remote_port) {
      continue;
    }
    // A zero linger makes the later close() send RST instead of lingering.
    linger no_linger{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger);
    shutdown(fd, SHUT_RDWR);
    return true;
  }
  return false;
}

// Replaces the body with a provider that sends half of it under the full Content-Length and
// then fails, so httplib closes the connection mid-body.
void truncate_body(httplib::Response& res) {
  auto body = std::make_shared<std::string>(std::move(res.body));
  res.body.clear();
  std::string content_type = res.get_header_value("Content-Type");
  res.headers.erase("Content-Type");
  res.set_content_provider(
      body->size(), content_type,
      [body](std::size_t offset, std::size_t, httplib::DataSink& sink) {
        if (offset == 0) {
          sink.write(body->data(), body->size() / 2);
        }
        return false;
      });
}

std::optional<std::size_t> read_count(const httplib::Request& req, std::string& error) {
  try {
    auto body = nlohmann::json::parse(req.body.empty() ? std::string("{}") : req.body);
    auto count = body.find("count");
    if (count == body.end() || !count->is_number_unsigned()) {
      error = "body must be {\"count\": n} with n a non-negative integer";
      return std::nullopt;
    }
    return count->get<std::size_t>();
  } catch (const nlohmann::json::exception& e) {
    error = std::string("invalid JSON body: ") + e.what();
    return std::nullopt;
  }
}

void send_json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, json_content_type);
}

void send_control_error(httplib::Response& res, const std::string& message) {
  log_event("control request rejected: " + message);
  send_json(res, 400, nlohmann::json{{"error", message}}.dump());
}

}  // namespace

simulator::simulator(catalog& jobs, token_registry& tokens, simulator_options options)
    : jobs_(jobs), tokens_(tokens), options_(options), latency_rng_(options.seed ^ 0x5eedULL) {}

void simulator::install(httplib::Server& server, int port) {
  port_ = port;

  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/__sim/", 0) == 0 && !is_loopback(req.remote_addr)) {
      log_event("control request from non-loopback peer " + req.remote_addr + " rejected");
      send_json(res, 403, R"({"error":"control endpoints accept loopback peers only"})");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  server.Get("/", [this](const httplib::Request& req, httplib::Response& res) {
    handle_home(req, res);
  });
  server.Post("/api/graphql/v1", [this](const httplib::Request& req, httplib::Response& res) {
    serve_api(api_endpoint::visitor, req, res, &simulator::handle_visitor);
  });
  server.Post("/graphql", [this](const httplib::Request& req, httplib::Response& res) {
    serve_api(api_endpoint::marketplace, req, res, &simulator::handle_marketplace);
  });
  server.Post("/api/v3/oauth2/token", [this](const httplib::Request& req, httplib::Response& res) {
    serve_api(api_endpoint::token, req, res, &simulator::handle_token);
  });

  server.Post("/__sim/publish", [this](const httplib::Request& req, httplib::Response& res) {
    handle_publish(req, res);
  });
  server.Post("/__sim/renew", [this](const httplib::Request& req, httplib::Response& res) {
    handle_renew(req, res);
  });
  server.Post("/__sim/delete", [this](const httplib::Request& req, httplib::Response& res) {
    handle_delete(req, res);
  });
  server.Post("/__sim/expire-tokens", [this](const httplib::Request&, httplib::Response& res) {
    tokens_.expire_all();
    send_json(res, 200, R"({"expired":true})");
  });
  server.Post("/__sim/faults", [this](const httplib::Request& req, httplib::Response& res) {
    handle_faults(req, res);
  });
  server.Post("/__sim/reset-stats", [this](const httplib::Request&, httplib::Response& res) {
    reset_stats();
    send_json(res, 200, R"({"reset":true})");
  });
  server.Get("/__sim/stats", [this](const httplib::Request&, httplib::Response& res) {
    handle_stats(res);
  });
  server.Get("/__sim/published", [this](const httplib::Request&, httplib::Response& res) {
    handle_published(res);
  });
  server.Get("/__sim/history", [this](const httplib::Request&, httplib::Response& res) {
    handle_history(res);
  });
  server.Get("/__sim/clock", [this](const httplib::Request&, httplib::Response& res) {
    handle_clock(res);
  });
  server.Get(R"(/__sim/posting/(\d+))", [this](const httplib::Request& req,
                                               httplib::Response& res) {
    handle_posting(req, res);
  });
}

void simulator::serve_api(api_endpoint endpoint, const httplib::Request& req,
                          httplib::Response& res, api_handler handler) {
  switch (endpoint) {
    case api_endpoint::visitor:
      ++visitor_requests_;
      break;
    case api_endpoint::marketplace:
      ++marketplace_requests_;
      break;
    case api_endpoint::token:
      ++token_requests_;
      break;
  }

  std::optional<fault> next = faults_.pop();
  if (!next && options_.random != nullptr) {
    next = options_.random->draw();
  }
  wait_latency();

  request_context context;
  if (next) {
    log_event(std::string("fault ") + fault_name(next->kind) + " applied to " + req.path);
  }
  if (next && apply_fault(*next, req, res, context)) {
    return;
  }

  (this->*handler)(req, res, context);
  gzip_if_accepted(req, res);

  if (next && next->kind == fault_kind::truncate) {
    truncate_body(res);
  }
}

// Returns true when the fault replaced the response.
bool simulator::apply_fault(const fault& next, const httplib::Request& req,
                            httplib::Response& res, request_context& context) {
  switch (next.kind) {
    case fault_kind::status:
      send_status_fault(res, next.status, next.retry_after_seconds);
      return true;
    case fault_kind::cloudflare:
      send_cloudflare_challenge(res);
      return true;
    case fault_kind::graphql_error:
      send_graphql_fault(res, next.message, next.extensions);
      return true;
    case fault_kind::reset:
      if (!shut_down_connection(req, port_)) {
        log_event("reset fault found no connection for peer port " +
                  std::to_string(req.remote_port));
      }
      res.status = 500;
      return true;
    case fault_kind::slow:
      std::this_thread::sleep_for(std::chrono::milliseconds{next.ms});
      return false;
    case fault_kind::truncate:
      return false;
    case fault_kind::marketplace_pagination_500:
      context.pagination_fault = true;
      return false;
    case fault_kind::expire_tokens:
      tokens_.expire_all();
      return false;
  }
  return false;
}

void simulator::wait_latency() {
  if (options_.latency_max.count() <= 0) {
    return;
  }
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(latency_mutex_);
    std::uniform_int_distribution<std::int64_t> pick(options_.latency_min.count(),
                                                     options_.latency_max.count());
    delay = std::chrono::milliseconds{pick(latency_rng_)};
  }
  std::this_thread::sleep_for(delay);
}

void simulator::handle_home(const httplib::Request&, httplib::Response& res) {
  ++home_requests_;
  const std::string token = tokens_.issue_visitor_token();
  const auto max_age = tokens_.ttl().count();

  // Like the real homepage, the token cookie is one of several.
  res.set_header("Set-Cookie", "visitor_id=127.0.0.1.1700000000000000; Path=/; Secure");
  res.set_header("Set-Cookie", "visitor_gql_token=" + token + "; Max-Age=" +
                                   std::to_string(max_age) + "; Path=/; Secure; HttpOnly");
  res.set_header("Set-Cookie", "__cf_bm=simulated; Path=/; HttpOnly; Secure; SameSite=None");
  res.set_content(home_page_html(), "text/html; charset=utf-8");
}

void simulator::handle_publish(const httplib::Request& req, httplib::Response& res) {
  std::string error;
  auto count = read_count(req, error);
  if (!count) {
    send_control_error(res, error);
    return;
  }
  const auto done = jobs_.publish(*count, now());
  send_json(res, 200, nlohmann::json{{"published", done}}.dump());
}

void simulator::handle_renew(const httplib::Request& req, httplib::Response& res) {
  std::string error;
  auto count = read_count(req, error);
  if (!count) {
    send_control_error(res, error);
    return;
  }
  const auto done = jobs_.renew(*count, now());
  send_json(res, 200, nlohmann::json{{"renewed", done}}.dump());
}

void simulator::handle_delete(const httplib::Request& req, httplib::Response& res) {
  std::string error;
  auto count = read_count(req, error);
  if (!count) {
    send_control_error(res, error);
    return;
  }
  const auto done = jobs_.remove(*count, now());
  send_json(res, 200, nlohmann::json{{"deleted", done}}.dump());
}

void simulator::handle_faults(const httplib::Request& req, httplib::Response& res) {
  std::deque<fault> parsed;
  try {
    auto body = nlohmann::json::parse(req.body);
    auto list = body.find("faults");
    if (list == body.end() || !list->is_array()) {
      send_control_error(res, "body must be {\"faults\": [...]}");
      return;
    }
    for (const auto& entry : *list) {
      parsed.push_back(parse_fault(entry));
    }
  } catch (const nlohmann::json::exception& e) {
    send_control_error(res, std::string("invalid JSON body: ") + e.what());
    return;
  } catch (const std::invalid_argument& e) {
    send_control_error(res, e.what());
    return;
  }
  const std::size_t queued = parsed.size();
  faults_.replace(std::move(parsed));
  send_json(res, 200, nlohmann::json{{"queued", queued}}.dump());
}

void simulator::handle_stats(httplib::Response& res) const {
  nlohmann::ordered_json stats{
      {"requests",
       {{"home", home_requests_.load()},
        {"visitor", visitor_requests_.load()},
        {"marketplace", marketplace_requests_.load()},
        {"token", token_requests_.load()}}},
      {"published", jobs_.published_count()},
      {"pool", jobs_.pool_count()},
      {"faults_pending", faults_.size()},
  };
  send_json(res, 200, stats.dump());
}

void simulator::handle_published(httplib::Response& res) const {
  send_json(res, 200, nlohmann::json(jobs_.published_ids()).dump());
}

void simulator::handle_history(httplib::Response& res) const {
  send_json(res, 200, jobs_.history().dump());
}

void simulator::handle_clock(httplib::Response& res) const {
  if (options_.stream == nullptr) {
    nlohmann::ordered_json clock{{"now", format_visitor_time(now())}, {"stream", false}};
    send_json(res, 200, clock.dump());
    return;
  }
  auto status = options_.stream->status();
  status["stream"] = true;
  send_json(res, 200, status.dump());
}

sim_time simulator::now() const {
  if (options_.clock) {
    return options_.clock();
  }
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

void simulator::handle_posting(const httplib::Request& req, httplib::Response& res) const {
  auto record = jobs_.published_record(req.matches[1].str());
  if (!record) {
    send_json(res, 404, R"({"error":"no published posting has this id"})");
    return;
  }
  send_json(res, 200, *record);
}

void simulator::reset_stats() {
  home_requests_ = 0;
  visitor_requests_ = 0;
  marketplace_requests_ = 0;
  token_requests_ = 0;
}

}  // namespace job_fetcher::upwork_sim
