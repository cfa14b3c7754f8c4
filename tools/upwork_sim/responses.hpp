// Canned responses: error bodies, the Cloudflare challenge page and the homepage.
#pragma once

#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace job_fetcher::upwork_sim {

// Content type of every JSON response. cpp-httplib 0.11 compresses only bodies typed exactly
// "application/json", and it picks brotli at its slowest quality whenever a client accepts it
// (measured: about 0.5 s for a 100 KB page). The charset parameter keeps httplib out, so
// gzip_if_accepted compresses instead.
inline constexpr const char* json_content_type = "application/json; charset=utf-8";

// Compresses a JSON body with gzip when the request accepts gzip, as Upwork's servers do.
void gzip_if_accepted(const httplib::Request& req, httplib::Response& res);

// 401 for a missing, unknown or expired bearer token.
void send_unauthorized(httplib::Response& res);

// `status` with a short JSON body; 429 also carries Retry-After.
void send_status_fault(httplib::Response& res, int status, int retry_after_seconds);

// 403 with Cloudflare's "Just a moment..." challenge page and its headers.
void send_cloudflare_challenge(httplib::Response& res);

// HTTP 200 with one GraphQL error and data null. An empty message or null extensions get a
// server-timeout default.
void send_graphql_fault(httplib::Response& res, const std::string& message,
                        const nlohmann::json& extensions);

// HTTP 200 with a validation error (classification ValidationError).
void send_validation_error(httplib::Response& res, const std::string& message);

// HTTP 200 with Upwork's permission error for the given fields (classification
// ExecutionAborted).
void send_scope_error(httplib::Response& res, const std::vector<std::string>& fields);

const std::string& home_page_html();

}  // namespace job_fetcher::upwork_sim
