#include "responses.hpp"

#include <zlib.h>

#include <optional>

#include "graphql.hpp"

namespace job_fetcher::upwork_sim {
namespace {

const char* reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}

std::optional<std::string> gzip(const std::string& data) {
  z_stream stream{};
  // 15 window bits plus 16 selects the gzip wrapper.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return std::nullopt;
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (status != Z_STREAM_END) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

void gzip_if_accepted(const httplib::Request& req, httplib::Response& res) {
  if (res.body.empty() || res.get_header_value("Content-Type") != json_content_type ||
      req.get_header_value("Accept-Encoding").find("gzip") == std::string::npos) {
    return;
  }
  auto compressed = gzip(res.body);
  if (!compressed) {
    return;
  }
  res.body = std::move(*compressed);
  res.set_header("Content-Encoding", "gzip");
  res.set_header("Vary", "Accept-Encoding");
}

void send_unauthorized(httplib::Response& res) {
  res.status = 401;
  res.set_header("WWW-Authenticate", R"(Bearer error="invalid_token")");
  res.set_content(R"({"message":"Unauthorized"})", json_content_type);
}

void send_status_fault(httplib::Response& res, int status, int retry_after_seconds) {
  if (status == 401) {
    send_unauthorized(res);
    return;
  }
  res.status = status;
  if (status == 429) {
    res.set_header("Retry-After", std::to_string(retry_after_seconds));
  }
  res.set_content(nlohmann::json{{"message", reason_phrase(status)}}.dump(), json_content_type);
}

void send_cloudflare_challenge(httplib::Response& res) {
  static const std::string page = R"(<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="robots" content="noindex,nofollow">
<link href="/cdn-cgi/styles/challenges.css" rel="stylesheet">
</head><body class="no-js"><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">www.upwork.com</h1>
<h2 class="h2" id="challenge-running">Checking if the site connection is secure</h2>
<div id="challenge-error-text" class="cf-error-details">Enable JavaScript and cookies to continue</div>
</div></div>
<script>(function(){window._cf_chl_opt={cvId:'3',cZone:"www.upwork.com",cType:'managed',cRay:'8f2c1e4b7a9d3c21'};}());</script>
<div class="footer" role="contentinfo"><div class="footer-inner"><div class="clearfix diagnostic-wrapper">
<div class="ray-id">Ray ID: <code>8f2c1e4b7a9d3c21</code></div></div>
<div class="text-center" id="footer-text">Performance &amp; security by Cloudflare</div></div></div>
</body></html>
)";
  res.status = 403;
  res.set_header("Server", "cloudflare");
  res.set_header("CF-RAY", "8f2c1e4b7a9d3c21-IAD");
  res.set_header("cf-mitigated", "challenge");
  res.set_header("Cache-Control", "private, max-age=0, no-store, no-cache, must-revalidate");
  res.set_content(page, "text/html; charset=UTF-8");
}

void send_graphql_fault(httplib::Response& res, const std::string& message,
                        const nlohmann::json& extensions) {
  const std::string text = message.empty() ? "Execution timed out" : message;
  const nlohmann::json ext =
      extensions.is_null() ? nlohmann::json{{"classification", "DataFetchingException"}}
                           : extensions;
  res.status = 200;
  res.set_content(graphql_error_body(text, ext), json_content_type);
}

void send_validation_error(httplib::Response& res, const std::string& message) {
  res.status = 200;
  res.set_content(graphql_error_body(message, {{"classification", "ValidationError"}}),
                  json_content_type);
}

void send_scope_error(httplib::Response& res, const std::vector<std::string>& fields) {
  std::string list;
  for (const auto& field : fields) {
    list += list.empty() ? field : ", " + field;
  }
  res.status = 200;
  res.set_content(
      graphql_error_body("The client or authentication token doesn't have enough oauth2 "
                         "permissions/scopes to access: [" + list + "].",
                         {{"classification", "ExecutionAborted"}}),
      json_content_type);
}

const std::string& home_page_html() {
  static const std::string page = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Upwork | The World's Work Marketplace</title></head>
<body><h1>upwork-sim</h1><p>A local stand-in for Upwork. The visitor_gql_token cookie set with
this page authorizes POST /api/graphql/v1.</p></body></html>
)";
  return page;
}

}  // namespace job_fetcher::upwork_sim
