// The bearer token chain of a run: static UPWORK_TOKEN, then the token cache (token_tracker),
// then an authenticator whose token is written to the cache. One run mints at a time.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "auth/authenticator.hpp"
#include "store/store.hpp"

namespace job_fetcher::auth {

struct token_chain_settings {
  secret static_token;                         // UPWORK_TOKEN; empty: not used
  std::string token_name = "UniversalSearch";  // UPWORK_TOKEN_NAME
  // A cached token is treated as expired this long before its expiry, so it is refreshed before
  // a request can fail with it.
  std::chrono::seconds refresh_margin{60};
  // How long the mint lease is held at most; a crashed minter blocks others this long.
  std::chrono::milliseconds lease_duration{30'000};
  std::chrono::milliseconds wait_step{500};    // wait between cache re-reads when another run mints
  int max_waits = 20;                          // re-reads before giving up
  std::string owner;                           // lease owner id; empty: a random id
};

// The source of the token in use.
enum class token_source { static_token, cache, authenticator };

// The token a request should use.
struct bearer_token {
  secret value;
  token_source source = token_source::cache;
  std::optional<timestamp> expires_at;  // empty for the static token
};

// Returns the lease name that serializes minting for a token name ("token:UniversalSearch").
std::string mint_lease_name(const std::string& token_name);

// One run's view of the chain. Not thread-safe: one per run.
class token_chain {
 public:
  // `minter` may be null when only the static token and the cache are configured. `store`,
  // `minter` and `clock` must outlive the chain.
  token_chain(store::job_store& store, authenticator* minter, token_chain_settings settings,
              clock_source& clock = system_clock_source());

  // Returns the first usable token of the chain. Errors: auth when no source has one (or
  // invalidate() was called twice), store when the cache fails, and the authenticator's errors.
  result<bearer_token> get();

  // Marks the token returned by the last get() as rejected (HTTP 401). The next get() skips it
  // and mints a new one. A second call means the fresh token was rejected as well: get() then
  // fails with an auth error. Never call it for scope errors: a new token has the same scopes.
  void invalidate();

  // Number of tokens this chain minted (for the run ledger and tests).
  int mints() const noexcept { return mints_; }

 private:
  result<std::optional<bearer_token>> read_cache();
  result<bearer_token> mint_under_lease();
  result<bearer_token> mint_and_store();

  store::job_store& store_;
  authenticator* minter_;
  token_chain_settings settings_;
  clock_source& clock_;

  std::optional<bearer_token> current_;
  std::optional<secret> rejected_;
  int invalidations_ = 0;
  int mints_ = 0;
};

}  // namespace job_fetcher::auth
