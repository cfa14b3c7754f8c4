#include "doubles/lambda_runtime/lambda_runtime_double.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace job_fetcher::doubles {

namespace {

// The payload limit of the Runtime API for a synchronous response (6 MiB).
constexpr std::size_t max_payload_bytes = 6 * 1024 * 1024;

constexpr const char* json_type = "application/json";

void reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), json_type);
}

void reply_error(httplib::Response& res, int status, std::string_view error_type,
                 std::string_view message) {
  reply(res, status, {{"errorMessage", message}, {"errorType", error_type}});
}

void reply_invalid_state(httplib::Response& res, std::string_view from, std::string_view to) {
  reply_error(res, 403, "InvalidStateTransition",
              fmt::format("State transition from {} to {} failed for runtime. Error: State "
                          "transition is not allowed",
                          from, to));
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

lambda_post record_of(const httplib::Request& req, std::string kind, std::string request_id) {
  lambda_post post;
  post.kind = std::move(kind);
  post.request_id = std::move(request_id);
  post.body = req.body;
  for (const auto& [name, value] : req.headers) post.headers[lower(name)] = value;
  return post;
}

}  // namespace

std::string lambda_post::header(const std::string& name) const {
  auto found = headers.find(name);
  return found == headers.end() ? std::string() : found->second;
}

lambda_runtime_double::lambda_runtime_double() : server_(std::make_unique<httplib::Server>()) {
  // Without TCP_NODELAY, headers and body leave in separate segments and delayed ACKs add about
  // 40 ms to every request.
  server_->set_tcp_nodelay(true);
  install_routes();
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("lambda runtime double: binding 127.0.0.1 failed");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // The socket already accepts connections; waiting for the accept loop keeps an early stop()
  // from racing with its start.
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

lambda_runtime_double::~lambda_runtime_double() { stop(); }

std::string lambda_runtime_double::endpoint() const { return fmt::format("127.0.0.1:{}", port_); }

std::string lambda_runtime_double::enqueue(lambda_event event) {
  std::lock_guard lock(mutex_);
  if (!event.request_id) {
    ++generated_ids_;
    event.request_id = fmt::format("8476a536-e9f4-11e8-9739-{:012x}", generated_ids_);
  }
  std::string request_id = *event.request_id;
  queue_.push_back(std::move(event));
  changed_.notify_all();
  return request_id;
}

std::string lambda_runtime_double::enqueue(std::string payload) {
  lambda_event event;
  event.payload = std::move(payload);
  return enqueue(std::move(event));
}

void lambda_runtime_double::inject_failure(runtime_endpoint endpoint, std::size_t count,
                                           int status) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < count; ++i) injected_[endpoint].push_back(status);
}

std::vector<lambda_post> lambda_runtime_double::posts() const {
  std::lock_guard lock(mutex_);
  return posts_;
}

bool lambda_runtime_double::wait_for_posts(std::size_t count,
                                           std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return posts_.size() >= count; });
}

std::size_t lambda_runtime_double::next_requests() const {
  std::lock_guard lock(mutex_);
  return next_requests_;
}

void lambda_runtime_double::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    changed_.notify_all();
  }
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

// Called with mutex_ held.
bool lambda_runtime_double::take_injected_failure(runtime_endpoint endpoint, int& status) {
  auto& pending = injected_[endpoint];
  if (pending.empty()) return false;
  status = pending.front();
  pending.pop_front();
  return true;
}

void lambda_runtime_double::install_routes() {
  server_->Get("/2018-06-01/runtime/invocation/next", [this](const httplib::Request&,
                                                             httplib::Response& res) {
    std::unique_lock lock(mutex_);
    ++next_requests_;
    next_called_ = true;
    if (int status = 0; take_injected_failure(runtime_endpoint::next, status)) {
      reply_error(res, status, "InternalServerError", "Internal Server Error");
      return;
    }
    if (in_flight_) {
      reply_invalid_state(res, "Invoke", "Ready");
      return;
    }

    // The long poll: Lambda answers /next only once an event arrives.
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) {
      reply_error(res, 500, "InternalServerError", "Internal Server Error");
      return;
    }

    lambda_event event = std::move(queue_.front());
    queue_.pop_front();
    in_flight_ = *event.request_id;

    res.status = 200;
    res.set_header("Lambda-Runtime-Aws-Request-Id", *event.request_id);
    if (event.raw_deadline) {
      res.set_header("Lambda-Runtime-Deadline-Ms", *event.raw_deadline);
    } else {
      timestamp deadline =
          event.deadline.value_or(std::chrono::time_point_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now()) +
                                  std::chrono::seconds{60});
      res.set_header("Lambda-Runtime-Deadline-Ms",
                     std::to_string(deadline.time_since_epoch().count()));
    }
    res.set_header(
        "Lambda-Runtime-Invoked-Function-Arn",
        event.function_arn.value_or("arn:aws:lambda:us-east-1:123456789012:function:job-fetcher"));
    std::string trace = event.trace_id.value_or(
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0");
    if (!trace.empty()) res.set_header("Lambda-Runtime-Trace-Id", trace);
    res.set_content(event.payload, json_type);
  });

  auto invocation_post = [this](runtime_endpoint endpoint, std::string kind) {
    return [this, endpoint, kind](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      std::string request_id = req.matches[1];
      lambda_post post = record_of(req, kind, request_id);

      if (int status = 0; take_injected_failure(endpoint, status)) {
        reply_error(res, status, "InternalServerError", "Internal Server Error");
      } else if (!in_flight_) {
        reply_invalid_state(res, "Ready",
                            kind == "response" ? "InvocationResponse" : "InvocationErrorResponse");
      } else if (*in_flight_ != request_id) {
        reply_error(res, 400, "InvalidRequestID", "Invalid request ID");
      } else if (req.body.size() > max_payload_bytes) {
        // Lambda records the invocation as failed, so the id is finished all the same.
        in_flight_.reset();
        reply_error(
            res, 413, "RequestEntityTooLarge",
            fmt::format("Exceeded maximum allowed payload size ({} bytes).", max_payload_bytes));
      } else {
        in_flight_.reset();
        reply(res, 202, {{"status", "OK"}});
      }

      post.status = res.status;
      posts_.push_back(std::move(post));
      changed_.notify_all();
    };
  };
  server_->Post(R"(/2018-06-01/runtime/invocation/([^/]+)/response)",
                invocation_post(runtime_endpoint::response, "response"));
  server_->Post(R"(/2018-06-01/runtime/invocation/([^/]+)/error)",
                invocation_post(runtime_endpoint::error, "error"));

  server_->Post("/2018-06-01/runtime/init/error",
                [this](const httplib::Request& req, httplib::Response& res) {
                  std::lock_guard lock(mutex_);
                  lambda_post post = record_of(req, "init_error", "");
                  if (int status = 0; take_injected_failure(runtime_endpoint::init_error, status)) {
                    reply_error(res, status, "InternalServerError", "Internal Server Error");
                  } else if (next_called_) {
                    reply_invalid_state(res, "Ready", "InitError");
                  } else {
                    reply(res, 202, {{"status", "OK"}});
                  }
                  post.status = res.status;
                  posts_.push_back(std::move(post));
                  changed_.notify_all();
                });
}

}  // namespace job_fetcher::doubles
