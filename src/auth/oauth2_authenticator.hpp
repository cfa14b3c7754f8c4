// Built-in marketplace minting: OAuth2 access tokens from Upwork's token endpoint, with the
// refresh token kept (and rotated) in the store's token cache.
#pragma once

#include <chrono>
#include <string>

#include "auth/authenticator.hpp"
#include "http/client.hpp"
#include "store/store.hpp"

namespace job_fetcher::auth {

enum class oauth2_grant { refresh_token, client_credentials };

struct oauth2_settings {
  std::string token_url;  // UPWORK_TOKEN_URL
  std::string client_id;  // UPWORK_CLIENT_ID
  secret client_secret;   // UPWORK_CLIENT_SECRET
  oauth2_grant grant = oauth2_grant::refresh_token;
  // UPWORK_REFRESH_TOKEN: used when the cache contains no refresh token, or when the cached one is
  // rejected and this one differs (an operator pasted a new one).
  secret refresh_token;
  std::string token_name = "UniversalSearch";  // the refresh token is cached as "<name>:refresh"
  // How long a refresh token is kept in the cache. Upwork documents two weeks.
  std::chrono::seconds refresh_token_lifetime{14 * 24 * 3600};
  std::chrono::milliseconds timeout{30'000};
  std::chrono::seconds default_lifetime = default_token_lifetime;
};

// Returns the token_tracker name under which the refresh token of `token_name` is cached.
std::string refresh_token_name(const std::string& token_name);

// POSTs a form-encoded grant (client id and secret always sent) and returns the access token.
// A rotated refresh token is written to the store before mint() returns; when the response
// carries none, the cached one stays. Error classes: HTTP 400 invalid_grant is auth ("refresh
// token expired or revoked", with how to get a new one). HTTP 401 or invalid_client is config,
// 429 is rate_limited, 5xx and transport failures are transient, a failed cache write is store.
class oauth2_authenticator final : public authenticator {
 public:
  // `transport`, `store` and `clock` must outlive the authenticator.
  oauth2_authenticator(http::client& transport, store::job_store& store, oauth2_settings settings,
                       clock_source& clock = system_clock_source());

  result<minted_token> mint() override;

 private:
  result<secret> current_refresh_token();
  result<minted_token> request_grant(const secret& refresh_token);
  result<minted_token> accept_grant(const std::string& body, const secret& refresh_token);

  http::client& transport_;
  store::job_store& store_;
  oauth2_settings settings_;
  clock_source& clock_;
};

}  // namespace job_fetcher::auth
