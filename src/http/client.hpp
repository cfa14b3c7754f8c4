// The HTTP transport seam. Production uses libcurl (make_curl_client); tests use loopback servers.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace job_fetcher::http {

struct header {
  std::string name;
  std::string value;
};

struct request {
  std::string method = "GET";
  std::string url;
  std::vector<header> headers;
  std::string body;
  std::chrono::milliseconds timeout{30'000};  // whole transfer; zero means no limit
  std::chrono::milliseconds connect_timeout{5'000};
  std::string proxy;                                   // "http://user:pass@host:port" or empty
};

struct response {
  int status = 0;
  std::vector<header> headers;  // in arrival order; repeated names are kept
  std::string body;             // decompressed

  // Returns the first header with this name, compared case-insensitively.
  std::optional<std::string_view> header_value(std::string_view name) const;
  // Returns the value of cookie `name` from the Set-Cookie headers.
  std::optional<std::string> cookie(std::string_view name) const;
};

// Sends requests. A returned error means no complete HTTP response arrived (class transient for
// timeouts, resets and truncated bodies; blocked for a proxy that refused us). Every HTTP status,
// 4xx and 5xx included, is a response for the caller to classify.
class client {
 public:
  virtual ~client() = default;
  virtual result<response> send(const request& req) = 0;
};

struct curl_options {
  std::size_t max_response_bytes = 16 * 1024 * 1024;  // larger bodies fail the request
  std::string ca_bundle;                               // empty: libcurl's default
  std::string user_agent = "job-fetcher/0.1";
};

// A libcurl client. Each instance owns one easy handle, so connections are reused across
// requests; an instance is not thread-safe, use one per thread.
std::unique_ptr<client> make_curl_client(curl_options options = {});

// Returns the URL without userinfo, query string and fragment, for logs and error messages.
std::string redact_url(std::string_view url);

// Percent-encodes a URL component (RFC 3986 unreserved characters stay).
std::string url_encode(std::string_view text);

}  // namespace job_fetcher::http
