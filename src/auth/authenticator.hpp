// The token source seam: an authenticator mints a new Upwork bearer token. Implementations: the
// HTTP authenticator, the Lambda authenticator, visitor minting (homepage cookie) and OAuth2.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"

namespace job_fetcher::auth {

// A bearer token fresh from an authenticator.
struct minted_token {
  secret value;
  timestamp expires_at{};
};

// Lifetime assumed for a token whose source states none.
inline constexpr std::chrono::seconds default_token_lifetime{3600};

// Mints bearer tokens. Errors never contain a token or a secret. One instance is used by one
// thread at a time.
class authenticator {
 public:
  virtual ~authenticator() = default;
  virtual result<minted_token> mint() = 0;
};

// Parses the response of an authenticator (HTTP or Lambda). Accepted shapes:
//   {"token": "…"}
//   "{\"token\": \"…\"}"                      (a JSON string that encodes the object)
//   {"status_code": 200, "token": "…"}        (what the authenticate handler returns)
//   {"statusCode": 200, "body": "{…}"}        (a Lambda proxy response; the body is parsed again)
// The expiry comes from "expires" (epoch seconds) or "expires_in" (seconds, number or string),
// else now + default_lifetime. A status_code other than 200 is an auth error carrying the
// response's "error" text. `source` (a redacted URL or a function name) is named in every error.
result<minted_token> parse_token_response(std::string_view body, std::string_view source,
                                          timestamp now,
                                          std::chrono::seconds default_lifetime =
                                              default_token_lifetime);

}  // namespace job_fetcher::auth
