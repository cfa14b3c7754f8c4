// AWS Signature Version 4 for requests sent through http::client: the canonical request, the
// string to sign, the signing key (HMAC-SHA256) and the Authorization header.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "http/client.hpp"

namespace job_fetcher::aws {

// An access key pair, with the session token of temporary (role) credentials.
struct credentials {
  std::string access_key_id;
  secret secret_access_key;
  secret session_token;  // empty for long-term keys
};

// Reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the optional AWS_SESSION_TOKEN. A missing key
// is a config error naming the variable.
result<credentials> credentials_from_environment();

namespace sigv4 {

// The region and service a signature is valid for ("us-east-1", "lambda").
struct scope {
  std::string region;
  std::string service;
};

struct options {
  // True: X-Amz-Security-Token is added before signing and so is signed (Lambda requires it).
  // False: it is added after signing, for services that expect it unsigned.
  bool sign_session_token = true;
  // Sends X-Amz-Content-Sha256 with the payload hash and signs it (S3-style services).
  bool add_content_sha256 = false;
};

// Every intermediate value of one signature, so tests can compare each step.
struct signature_parts {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // lower-case hex
  std::string authorization;   // the Authorization header value
};

// Computes the signature of `req` as given, without changing it. Every header is signed except
// Authorization, User-Agent, Expect and X-Amzn-Trace-Id (the headers botocore leaves out). The
// host comes from a Host header, or from the URL when there is none. The payload hash is the
// X-Amz-Content-Sha256 header when present, else the SHA-256 of the body. The path is normalized
// and URI-encoded once more, as every service except S3 expects.
signature_parts compute(const http::request& req, const credentials& creds, const scope& where,
                        timestamp at);

// Signs `req` in place: adds Host (from the URL), X-Amz-Date, X-Amz-Security-Token when the
// credentials have a session token, X-Amz-Content-Sha256 when asked, and Authorization. Headers
// of those names already present are replaced, so a retried request can be signed again.
void sign(http::request& req, const credentials& creds, const scope& where, timestamp at,
          const options& opts = {});

// Formats the X-Amz-Date form "20150830T123600Z" (whole seconds, UTC).
std::string format_amz_date(timestamp at);

// Parses the X-Amz-Date form "20150830T123600Z".
std::optional<timestamp> parse_amz_date(std::string_view text);

// Returns the lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// Returns the raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

}  // namespace sigv4
}  // namespace job_fetcher::aws
