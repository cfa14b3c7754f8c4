#include "aws/sigv4.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace job_fetcher::aws {

namespace {

// The pieces of an absolute URL the signature needs.
struct url_parts {
  std::string scheme;
  std::string authority;  // host[:port], userinfo removed
  std::string path;
  std::string query;
};

url_parts split_url(std::string_view url) {
  url_parts parts;
  url = url.substr(0, url.find('#'));

  auto scheme_end = url.find("://");
  if (scheme_end != std::string_view::npos) {
    parts.scheme = std::string(url.substr(0, scheme_end));
    url.remove_prefix(scheme_end + 3);
    auto authority_end = url.find_first_of("/?");
    std::string_view authority = url.substr(0, authority_end);
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      authority.remove_prefix(at + 1);
    }
    parts.authority = std::string(authority);
    url.remove_prefix(authority_end == std::string_view::npos ? url.size() : authority_end);
  }

  auto query_start = url.find('?');
  parts.path = std::string(url.substr(0, query_start));
  if (query_start != std::string_view::npos) parts.query = std::string(url.substr(query_start + 1));
  return parts;
}

// Returns host[:port] as libcurl sends it in the Host header: the port only when it is not the
// scheme's default.
std::string host_header_for(const url_parts& parts) {
  std::string_view authority = parts.authority;
  auto colon = authority.rfind(':');
  bool has_port = colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos;
  if (!has_port) return parts.authority;

  std::string_view port = authority.substr(colon + 1);
  bool default_port = (parts.scheme == "https" && port == "443") ||
                      (parts.scheme == "http" && port == "80");
  return std::string(default_port ? authority.substr(0, colon) : authority);
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return to_lower(a) == to_lower(b); }

std::string percent_decode(std::string_view text) {
  int length = 0;
  char* decoded = curl_easy_unescape(nullptr, text.data(), static_cast<int>(text.size()), &length);
  if (decoded == nullptr) return std::string(text);
  std::string out(decoded, static_cast<std::size_t>(length));
  curl_free(decoded);
  return out;
}

// Removes "." and ".." segments and empty segments, keeps a trailing slash, and URI-encodes each
// segment. The path of the URL is already encoded once, so non-S3 services see it encoded twice.
std::string canonical_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }

  std::string out;
  for (auto segment : segments) {
    out += '/';
    out += http::url_encode(segment);
  }
  if (out.empty() || path.ends_with('/')) out += "/";
  return out;
}

// Decodes and re-encodes every name and value so that raw and already-encoded query strings give
// the same canonical form, then sorts by name and value.
std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t start = 0;
  while (start < query.size()) {
    auto end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view pair = query.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;

    auto eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    pairs.emplace_back(http::url_encode(percent_decode(name)),
                       http::url_encode(percent_decode(value)));
  }
  std::sort(pairs.begin(), pairs.end());

  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out += '&';
    out += name + "=" + value;
  }
  return out;
}

// Trims the value and collapses every run of whitespace inside it into one space.
std::string canonical_header_value(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

bool is_unsigned_header(std::string_view lower_name) {
  return lower_name == "authorization" || lower_name == "user-agent" || lower_name == "expect" ||
         lower_name == "x-amzn-trace-id";
}

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

void set_header(http::request& req, std::string_view name, std::string value) {
  std::erase_if(req.headers, [&](const http::header& h) { return iequals(h.name, name); });
  req.headers.push_back({std::string(name), std::move(value)});
}

std::optional<std::string> find_header(const http::request& req, std::string_view name) {
  for (const auto& h : req.headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

}  // namespace

result<credentials> credentials_from_environment() {
  auto read = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
  };

  credentials creds;
  creds.access_key_id = read("AWS_ACCESS_KEY_ID");
  creds.secret_access_key = secret(read("AWS_SECRET_ACCESS_KEY"));
  creds.session_token = secret(read("AWS_SESSION_TOKEN"));
  if (creds.access_key_id.empty()) {
    return make_error(error_class::config,
                      "AWS_ACCESS_KEY_ID is not set; Lambda sets it from the function's role, "
                      "elsewhere export the key pair of an identity allowed to invoke the function");
  }
  if (creds.secret_access_key.empty()) {
    return make_error(error_class::config,
                      "AWS_SECRET_ACCESS_KEY is not set; export it with AWS_ACCESS_KEY_ID");
  }
  return creds;
}

namespace sigv4 {

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string format_amz_date(timestamp at) {
  auto seconds = std::chrono::floor<std::chrono::seconds>(at);
  auto day = std::chrono::floor<std::chrono::days>(seconds);
  std::chrono::year_month_day date{day};
  std::chrono::hh_mm_ss<std::chrono::seconds> time{seconds - day};
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count());
}

std::optional<timestamp> parse_amz_date(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  std::string iso = fmt::format("{}-{}-{}T{}:{}:{}Z", text.substr(0, 4), text.substr(4, 2),
                                text.substr(6, 2), text.substr(9, 2), text.substr(11, 2),
                                text.substr(13, 2));
  return parse_timestamp(iso);
}

signature_parts compute(const http::request& req, const credentials& creds, const scope& where,
                        timestamp at) {
  url_parts url = split_url(req.url);

  // Header values of one name are joined with commas in the order they were added.
  std::map<std::string, std::vector<std::string>> headers;
  for (const auto& h : req.headers) {
    std::string name = to_lower(h.name);
    if (is_unsigned_header(name)) continue;
    headers[name].push_back(canonical_header_value(h.value));
  }
  if (!headers.contains("host")) headers["host"].push_back(host_header_for(url));

  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [name, values] : headers) {
    std::string joined;
    for (const auto& value : values) joined += (joined.empty() ? "" : ",") + value;
    canonical_headers += name + ":" + joined + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + name;
  }

  std::string payload_hash = find_header(req, "x-amz-content-sha256").value_or(sha256_hex(req.body));

  signature_parts parts;
  parts.signed_headers = signed_headers;
  parts.canonical_request = fmt::format("{}\n{}\n{}\n{}\n{}\n{}", req.method,
                                        canonical_path(url.path), canonical_query(url.query),
                                        canonical_headers, signed_headers, payload_hash);

  std::string amz_date = format_amz_date(at);
  std::string date = amz_date.substr(0, 8);
  std::string credential_scope =
      fmt::format("{}/{}/{}/aws4_request", date, where.region, where.service);
  parts.string_to_sign = fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date, credential_scope,
                                     sha256_hex(parts.canonical_request));

  std::string key = hmac_sha256("AWS4" + creds.secret_access_key.reveal(), date);
  key = hmac_sha256(key, where.region);
  key = hmac_sha256(key, where.service);
  key = hmac_sha256(key, "aws4_request");
  parts.signature = to_hex(hmac_sha256(key, parts.string_to_sign));

  parts.authorization =
      fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}",
                  creds.access_key_id, credential_scope, signed_headers, parts.signature);
  return parts;
}

void sign(http::request& req, const credentials& creds, const scope& where, timestamp at,
          const options& opts) {
  std::erase_if(req.headers, [](const http::header& h) {
    return iequals(h.name, "Authorization") || iequals(h.name, "X-Amz-Security-Token");
  });
  set_header(req, "Host", host_header_for(split_url(req.url)));
  set_header(req, "X-Amz-Date", format_amz_date(at));
  if (opts.add_content_sha256) set_header(req, "X-Amz-Content-Sha256", sha256_hex(req.body));

  bool has_token = !creds.session_token.empty();
  if (has_token && opts.sign_session_token) {
    set_header(req, "X-Amz-Security-Token", creds.session_token.reveal());
  }

  signature_parts parts = compute(req, creds, where, at);
  req.headers.push_back({"Authorization", parts.authorization});

  if (has_token && !opts.sign_session_token) {
    set_header(req, "X-Amz-Security-Token", creds.session_token.reveal());
  }
}

}  // namespace sigv4
}  // namespace job_fetcher::aws
