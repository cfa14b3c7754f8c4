// The Authenticator itself (the `authenticate` Lambda handler and any HTTP face of it): checks the
// caller's secret, mints a token and caches it in token_tracker.
#pragma once

#include <string>
#include <string_view>

#include "auth/authenticator.hpp"
#include "store/store.hpp"

namespace job_fetcher::auth {

struct authenticate_settings {
  secret expected_secret;                      // AUTH_SECRET
  std::string token_name = "UniversalSearch";  // UPWORK_TOKEN_NAME
};

// Returns true when `presented` equals `expected`, in time that depends on neither value. Both
// are hashed with HMAC-SHA256 under a random per-process key, and CRYPTO_memcmp compares the
// digests, so neither the position of the first difference nor the lengths leak.
bool secrets_equal(std::string_view presented, const secret& expected);

// Handles one request. `request_body` is {"secret": …}, or a JSON string encoding it, or a proxy
// event whose "body" contains it. Returns the response body:
//   {"status_code": 200, "token": …, "expires": epoch seconds}  after minting and caching;
//   {"status_code": 401, "error": "invalid secret"}             for a wrong or missing secret;
//   {"status_code": 400, "error": …}                            for a body that is not JSON.
// A failed mint returns the authenticator's error, so the runtime reports it as a function error.
// A failed cache write is logged; the token is returned anyway. An empty expected secret is a
// config error: the handler never accepts every caller.
result<std::string> handle_authenticate(std::string_view request_body,
                                        const authenticate_settings& settings,
                                        authenticator& minter, store::job_store& store,
                                        clock_source& clock = system_clock_source());

}  // namespace job_fetcher::auth
