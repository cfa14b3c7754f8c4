#include "auth/token_chain.hpp"

#include <random>
#include <utility>

#include <fmt/format.h>

#include "core/log.hpp"

namespace job_fetcher::auth {

namespace {

std::string random_owner() {
  std::random_device device;
  std::uniform_int_distribution<std::uint64_t> distribution;
  return fmt::format("token-chain-{:016x}", distribution(device));
}

std::int64_t epoch_seconds(timestamp at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

}  // namespace

std::string mint_lease_name(const std::string& token_name) { return "token:" + token_name; }

token_chain::token_chain(store::job_store& store, authenticator* minter,
                         token_chain_settings settings, clock_source& clock)
    : store_(store), minter_(minter), settings_(std::move(settings)), clock_(clock) {
  if (settings_.owner.empty()) settings_.owner = random_owner();
}

result<bearer_token> token_chain::get() {
  if (invalidations_ >= 2) {
    return make_error(error_class::auth,
                      fmt::format("Upwork rejected a newly obtained {} token as well; check that "
                                  "the authenticator mints tokens for the right account and API",
                                  settings_.token_name));
  }

  timestamp now = clock_.now();
  if (current_ && (!current_->expires_at || *current_->expires_at - settings_.refresh_margin > now)) {
    return *current_;
  }
  current_.reset();

  bool static_rejected = rejected_ && *rejected_ == settings_.static_token;
  if (!settings_.static_token.empty() && !static_rejected) {
    current_ = bearer_token{settings_.static_token, token_source::static_token, std::nullopt};
    return *current_;
  }

  auto cached = read_cache();
  if (!cached) return std::move(cached).err();
  if (cached->has_value()) {
    current_ = std::move(**cached);
    return *current_;
  }

  if (minter_ == nullptr) {
    return make_error(error_class::auth,
                      fmt::format("no unexpired {} token in the token cache and no authenticator "
                                  "configured; set UPWORK_TOKEN, AUTHORIZER_URL with AUTH_SECRET, "
                                  "AUTHENTICATOR_FUNCTION, or the OAuth2 client settings",
                                  settings_.token_name));
  }
  auto minted = mint_under_lease();
  if (!minted) return minted;
  current_ = std::move(minted.value());
  return *current_;
}

void token_chain::invalidate() {
  ++invalidations_;
  if (current_) rejected_ = current_->value;
  current_.reset();
  log::warn("auth.chain", "bearer token rejected",
            {{"token_name", settings_.token_name}, {"invalidations", invalidations_}});
}

result<std::optional<bearer_token>> token_chain::read_cache() {
  auto cached = store_.read_token(settings_.token_name, clock_.now() + settings_.refresh_margin);
  if (!cached) return std::move(cached).err();
  if (!cached->has_value()) return std::optional<bearer_token>{};

  const store::cached_token& row = **cached;
  if (rejected_ && *rejected_ == row.value) return std::optional<bearer_token>{};
  return std::optional<bearer_token>{
      bearer_token{row.value, token_source::cache, timestamp(std::chrono::seconds(row.expires))}};
}

result<bearer_token> token_chain::mint_under_lease() {
  const std::string lease = mint_lease_name(settings_.token_name);

  for (int waits = 0;; ++waits) {
    timestamp now = clock_.now();
    auto acquired = store_.acquire_lease(lease, settings_.owner, now,
                                         now + settings_.lease_duration);
    if (!acquired) return std::move(acquired).err();

    if (*acquired) {
      // Another run may have minted between the cache read and the lease.
      auto cached = read_cache();
      auto minted = !cached               ? result<bearer_token>(cached.err())
                    : cached->has_value() ? result<bearer_token>(**cached)
                                          : mint_and_store();
      auto released = store_.release_lease(lease, settings_.owner);
      if (!released) {
        log::warn("auth.chain", "releasing the mint lease failed; it expires on its own",
                  {{"lease", lease}, {"error", released.err().describe()}});
      }
      return minted;
    }

    if (waits >= settings_.max_waits) {
      return make_error(error_class::transient,
                        fmt::format("another run held the {} lease for {} waits of {} ms without "
                                    "caching a token; the next run retries",
                                    lease, settings_.max_waits, settings_.wait_step.count()));
    }
    log::debug("auth.chain", "another run is minting; waiting", {{"lease", lease}});
    clock_.sleep_for(settings_.wait_step);

    auto cached = read_cache();
    if (!cached) return std::move(cached).err();
    if (cached->has_value()) return std::move(**cached);
  }
}

result<bearer_token> token_chain::mint_and_store() {
  auto minted = minter_->mint();
  if (!minted) return std::move(minted).err();
  ++mints_;

  timestamp now = clock_.now();
  store::cached_token row;
  row.name = settings_.token_name;
  row.value = minted->value;
  row.expires = epoch_seconds(minted->expires_at);
  row.created_at = now;
  auto written = store_.write_token(row);
  if (!written) {
    // The token is valid, so this run goes on; other runs mint their own until the cache works.
    log::error("auth.chain", "caching the minted token failed",
               {{"token_name", settings_.token_name}, {"error", written.err().describe()}});
  }
  return bearer_token{minted->value, token_source::authenticator, minted->expires_at};
}

}  // namespace job_fetcher::auth
