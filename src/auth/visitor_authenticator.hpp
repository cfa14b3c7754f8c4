// Built-in visitor minting: the visitor_gql_token cookie that Upwork's home page sets.
#pragma once

#include <chrono>
#include <string>

#include "auth/authenticator.hpp"
#include "http/client.hpp"

namespace job_fetcher::auth {

struct visitor_authenticator_settings {
  std::string home_url{};  // UPWORK_HOME_URL
  std::chrono::milliseconds timeout{30'000};
  std::string proxy{};   // passed to http::request::proxy
  std::chrono::seconds default_lifetime = default_token_lifetime;
};

// GETs the home page and takes the visitor_gql_token cookie; its expiry comes from the cookie's
// Max-Age or Expires attribute. Errors: 403/503 challenge pages are blocked, 429 rate_limited,
// 5xx and transport failures transient, a page without the cookie bad_response.
class visitor_authenticator final : public authenticator {
 public:
  // `transport` and `clock` must outlive the authenticator.
  visitor_authenticator(http::client& transport, visitor_authenticator_settings settings,
                        clock_source& clock = system_clock_source());

  result<minted_token> mint() override;

 private:
  http::client& transport_;
  visitor_authenticator_settings settings_;
  clock_source& clock_;
};

// The cookie Upwork's home page sets for visitor GraphQL searches.
inline constexpr const char* visitor_cookie_name = "visitor_gql_token";

}  // namespace job_fetcher::auth
