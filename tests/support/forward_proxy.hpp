// A loopback HTTP forward proxy for tests: accepts absolute-URI requests
// ("POST http://127.0.0.1:PORT/path HTTP/1.1"), checks Proxy-Authorization and forwards them to
// the target with cpp-httplib. Plain http only (no CONNECT), which is all loopback tests need.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <regex>
#include <string>
#include <thread>

namespace job_fetcher::testing {

class forward_proxy {
 public:
  // `expected_authorization` is the whole Proxy-Authorization value ("Basic dXNlcjpwYXNz"), or
  // empty to accept requests without it. With `reject_all`, every request gets 407.
  explicit forward_proxy(std::string expected_authorization = {}, bool reject_all = false)
      : expected_(std::move(expected_authorization)), reject_all_(reject_all) {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      forward(req, res);
    };
    server_.Get(R"(http://.*)", handler);
    server_.Post(R"(http://.*)", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  ~forward_proxy() {
    server_.stop();
    thread_.join();
  }
  forward_proxy(const forward_proxy&) = delete;
  forward_proxy& operator=(const forward_proxy&) = delete;

  int port() const { return port_; }
  int requests() const { return requests_.load(); }
  int rejected() const { return rejected_.load(); }
  std::string last_authorization() const {
    std::lock_guard lock(mutex_);
    return last_authorization_;
  }

 private:
  void forward(const httplib::Request& req, httplib::Response& res) {
    ++requests_;
    std::string authorization = req.get_header_value("Proxy-Authorization");
    {
      std::lock_guard lock(mutex_);
      last_authorization_ = authorization;
    }
    if (reject_all_ || (!expected_.empty() && authorization != expected_)) {
      ++rejected_;
      res.status = 407;
      res.set_header("Proxy-Authenticate", "Basic realm=\"test\"");
      res.set_content("proxy authentication required", "text/plain");
      return;
    }

    static const std::regex absolute(R"(http://([^/:]+):(\d+)(/.*))");
    std::smatch parts;
    if (!std::regex_match(req.target, parts, absolute)) {
      res.status = 400;
      return;
    }
    httplib::Client upstream(parts[1].str(), std::stoi(parts[2].str()));
    upstream.set_read_timeout(std::chrono::seconds{30});
    httplib::Headers headers;
    for (const auto& [name, value] : req.headers) {
      if (name == "Proxy-Authorization" || name == "Proxy-Connection" || name == "Host" ||
          name == "Content-Length" || name == "Accept-Encoding" || name == "REMOTE_ADDR" || name == "REMOTE_PORT" ||
          name == "LOCAL_ADDR" || name == "LOCAL_PORT") {
        continue;
      }
      headers.emplace(name, value);
    }
    std::string content_type = req.get_header_value("Content-Type");
    auto result = req.method == "POST"
                      ? upstream.Post(parts[3].str(), headers, req.body, content_type)
                      : upstream.Get(parts[3].str(), headers);
    if (!result) {
      res.status = 502;
      return;
    }
    res.status = result->status;
    for (const auto& [name, value] : result->headers) {
      if (name == "Content-Length" || name == "Transfer-Encoding" || name == "Connection" ||
          name == "Content-Encoding") {
        continue;
      }
      res.headers.emplace(name, value);
    }
    res.body = result->body;
  }

  httplib::Server server_;
  std::string expected_;
  bool reject_all_ = false;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::atomic<int> rejected_{0};
  mutable std::mutex mutex_;
  std::string last_authorization_;
};

}  // namespace job_fetcher::testing
