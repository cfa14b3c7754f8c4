#include "doubles/authenticator/authenticator_double.hpp"

#include <httplib.h>

#include <atomic>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace job_fetcher::doubles {

namespace {

using nlohmann::json;

// AWS rejects requests whose X-Amz-Date is further than this from its clock.
constexpr std::chrono::minutes max_clock_skew{5};

constexpr const char* signature_mismatch_message =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

struct parsed_authorization {
  std::string access_key_id;
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;
};

std::optional<parsed_authorization> parse_authorization(const std::string& value) {
  const std::string prefix = "AWS4-HMAC-SHA256 ";
  if (!value.starts_with(prefix)) return std::nullopt;

  auto field = [&](const std::string& name) -> std::string {
    auto start = value.find(name + "=");
    if (start == std::string::npos) return {};
    start += name.size() + 1;
    return value.substr(start, value.find(',', start) - start);
  };

  parsed_authorization parsed;
  std::string credential = field("Credential");
  std::vector<std::string> scope;
  for (std::size_t start = 0; start <= credential.size();) {
    auto end = credential.find('/', start);
    if (end == std::string::npos) end = credential.size();
    scope.push_back(credential.substr(start, end - start));
    start = end + 1;
  }
  if (scope.size() != 5 || scope[4] != "aws4_request") return std::nullopt;
  parsed.access_key_id = scope[0];
  parsed.region = scope[2];
  parsed.service = scope[3];

  std::string names = field("SignedHeaders");
  for (std::size_t start = 0; start < names.size();) {
    auto end = names.find(';', start);
    if (end == std::string::npos) end = names.size();
    parsed.signed_headers.push_back(names.substr(start, end - start));
    start = end + 1;
  }
  return parsed;
}

void reply_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void reject_signature(httplib::Response& res, const char* type, const std::string& message) {
  res.set_header("x-amzn-ErrorType", type);
  reply_json(res, 403, {{"message", message}});
}

}  // namespace

struct authenticator_double::state {
  std::string expected_secret;
  aws::credentials creds;

  mutable std::mutex mutex;
  std::condition_variable stopped_cv;
  bool stopped = false;
  token_reply_shape shape = token_reply_shape::object;
  std::optional<std::chrono::seconds> lifetime = std::chrono::seconds(3600);
  int failures = 0;
  int failure_status = 500;
  int function_errors = 0;
  int hangs = 0;
  std::chrono::milliseconds hang_delay{0};
  int http_calls = 0;
  int lambda_calls = 0;
  int rejected_signatures = 0;
  std::vector<std::string> tokens;
  std::vector<std::string> functions;

  // Applies an injected hang, then returns the injected failure status (0 for none).
  int take_fault() {
    std::unique_lock lock(mutex);
    if (hangs > 0) {
      --hangs;
      stopped_cv.wait_for(lock, hang_delay, [this] { return stopped; });
    }
    if (failures > 0) {
      --failures;
      return failure_status;
    }
    return 0;
  }

  std::string issue_token() {
    std::lock_guard lock(mutex);
    tokens.push_back(fmt::format("double-token-{}", tokens.size() + 1));
    return tokens.back();
  }

  bool secret_matches(const std::string& body) {
    json parsed = json::parse(body, nullptr, false);
    if (parsed.is_string()) parsed = json::parse(parsed.get<std::string>(), nullptr, false);
    return parsed.is_object() && parsed.contains("secret") && parsed["secret"].is_string() &&
           parsed["secret"].get<std::string>() == expected_secret;
  }

  json token_object(const std::string& token) {
    std::lock_guard lock(mutex);
    json body{{"token", token}};
    if (lifetime) body["expires_in"] = lifetime->count();
    return body;
  }

  // Returns true when the request carries a valid signature; otherwise writes AWS's rejection
  // to `res` and returns false.
  bool verify_signature(const httplib::Request& req, httplib::Response& res) {
    auto parsed = parse_authorization(req.get_header_value("Authorization"));
    if (!parsed) {
      res.set_header("x-amzn-ErrorType", "IncompleteSignatureException");
      reply_json(res, 403, {{"message", "Authorization header requires 'Credential', "
                                        "'Signature' and 'SignedHeaders' parameters."}});
      return false;
    }
    if (parsed->access_key_id != creds.access_key_id) {
      reject_signature(res, "UnrecognizedClientException",
                       "The security token included in the request is invalid.");
      return false;
    }
    if (!creds.session_token.empty() &&
        req.get_header_value("X-Amz-Security-Token") != creds.session_token.reveal()) {
      reject_signature(res, "UnrecognizedClientException",
                       "The security token included in the request is invalid.");
      return false;
    }

    auto at = aws::sigv4::parse_amz_date(req.get_header_value("X-Amz-Date"));
    if (!at) {
      reject_signature(res, "IncompleteSignatureException", "X-Amz-Date is missing or invalid.");
      return false;
    }
    auto now = std::chrono::system_clock::now();
    if (*at > now + max_clock_skew || *at < now - max_clock_skew) {
      reject_signature(res, "InvalidSignatureException",
                       "Signature expired: " + req.get_header_value("X-Amz-Date") +
                           " is now earlier or later than the server time minus or plus 5 min.");
      return false;
    }

    http::request signed_request;
    signed_request.method = req.method;
    signed_request.url = "http://" + req.get_header_value("Host") + req.target;
    signed_request.body = req.body;
    for (const auto& name : parsed->signed_headers) {
      auto [first, last] = req.headers.equal_range(name);
      for (auto it = first; it != last; ++it) signed_request.headers.push_back({name, it->second});
    }
    auto expected = aws::sigv4::compute(signed_request, creds,
                                        {authenticator_double_region, "lambda"}, *at);
    if (expected.authorization != req.get_header_value("Authorization")) {
      reject_signature(res, "InvalidSignatureException", signature_mismatch_message);
      return false;
    }
    return true;
  }
};

aws::credentials authenticator_double_credentials() {
  return {"AKIDEXAMPLE", secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
          secret("FwoGZXIvYXdzEXAMPLEdoubleSessionToken")};
}

authenticator_double::authenticator_double(std::string expected_secret, aws::credentials creds)
    : state_(std::make_shared<state>()), server_(std::make_unique<httplib::Server>()) {
  state_->expected_secret = std::move(expected_secret);
  state_->creds = std::move(creds);
  auto s = state_;

  server_->Post("/", [s](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard lock(s->mutex);
      ++s->http_calls;
    }
    if (int status = s->take_fault()) {
      reply_json(res, status, {{"error", "injected failure"}});
      return;
    }
    if (!s->secret_matches(req.body)) {
      reply_json(res, 401, {{"error", "invalid secret"}});
      return;
    }

    json body = s->token_object(s->issue_token());
    token_reply_shape shape;
    {
      std::lock_guard lock(s->mutex);
      shape = s->shape;
    }
    if (shape == token_reply_shape::json_string) {
      reply_json(res, 200, json(body.dump()));
      return;
    }
    if (shape == token_reply_shape::status_object) body["status_code"] = 200;
    reply_json(res, 200, body);
  });

  server_->Post(R"(/2015-03-31/functions/([^/]+)/invocations)",
                [s](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard lock(s->mutex);
      ++s->lambda_calls;
      std::string qualifier = req.get_param_value("Qualifier");
      s->functions.push_back(req.matches[1].str() + (qualifier.empty() ? "" : ":" + qualifier));
    }
    if (!s->verify_signature(req, res)) {
      std::lock_guard lock(s->mutex);
      ++s->rejected_signatures;
      return;
    }
    if (int status = s->take_fault()) {
      res.set_header("x-amzn-ErrorType", "ServiceException");
      reply_json(res, status, {{"Message", "injected failure"}, {"Type", "Service"}});
      return;
    }

    bool function_error = false;
    {
      std::lock_guard lock(s->mutex);
      if (s->function_errors > 0) {
        --s->function_errors;
        function_error = true;
      }
    }
    if (function_error) {
      res.set_header("X-Amz-Function-Error", "Unhandled");
      reply_json(res, 200, {{"errorMessage", "RequestId: 0 Error: Runtime exited with error: "
                                             "exit status 1"},
                            {"errorType", "Runtime.ExitError"}});
      return;
    }
    if (!s->secret_matches(req.body)) {
      reply_json(res, 200, {{"status_code", 401}, {"error", "invalid secret"}});
      return;
    }

    json body = s->token_object(s->issue_token());
    body["status_code"] = 200;
    reply_json(res, 200, body);
  });

  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("authenticator double: binding 127.0.0.1 failed");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

authenticator_double::~authenticator_double() { stop(); }

void authenticator_double::stop() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopped = true;
  }
  state_->stopped_cv.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string authenticator_double::url() const { return fmt::format("http://127.0.0.1:{}/", port_); }

std::string authenticator_double::endpoint() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}

void authenticator_double::set_reply_shape(token_reply_shape shape) {
  std::lock_guard lock(state_->mutex);
  state_->shape = shape;
}

void authenticator_double::set_token_lifetime(std::optional<std::chrono::seconds> lifetime) {
  std::lock_guard lock(state_->mutex);
  state_->lifetime = lifetime;
}

void authenticator_double::fail_next(int count, int status) {
  std::lock_guard lock(state_->mutex);
  state_->failures = count;
  state_->failure_status = status;
}

void authenticator_double::function_error_next(int count) {
  std::lock_guard lock(state_->mutex);
  state_->function_errors = count;
}

void authenticator_double::hang_next(int count, std::chrono::milliseconds delay) {
  std::lock_guard lock(state_->mutex);
  state_->hangs = count;
  state_->hang_delay = delay;
}

int authenticator_double::http_calls() const {
  std::lock_guard lock(state_->mutex);
  return state_->http_calls;
}

int authenticator_double::lambda_calls() const {
  std::lock_guard lock(state_->mutex);
  return state_->lambda_calls;
}

int authenticator_double::rejected_signatures() const {
  std::lock_guard lock(state_->mutex);
  return state_->rejected_signatures;
}

std::vector<std::string> authenticator_double::tokens_issued() const {
  std::lock_guard lock(state_->mutex);
  return state_->tokens;
}

std::vector<std::string> authenticator_double::functions_invoked() const {
  std::lock_guard lock(state_->mutex);
  return state_->functions;
}

}  // namespace job_fetcher::doubles
