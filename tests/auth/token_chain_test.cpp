// The token chain over a real SQLite token cache.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "auth/http_authenticator.hpp"
#include "auth/token_chain.hpp"
#include "auth_test_support.hpp"
#include "doubles/authenticator/authenticator_double.hpp"

namespace job_fetcher::auth {
namespace {

using testing::counting_authenticator;
using testing::epoch_seconds;
using testing::manual_clock;
using testing::temp_database;

store::cached_token cache_row(const std::string& value, timestamp expires, timestamp created) {
  return {"UniversalSearch", secret(value), epoch_seconds(expires), created};
}

TEST(token_chain, static_token_wins_without_cache_or_authenticator) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  counting_authenticator minter(clock);
  token_chain_settings settings;
  settings.static_token = secret("static-token");
  token_chain chain(*store, &minter, settings, clock);

  auto token = chain.get();

  ASSERT_TRUE(token.ok()) << token.err().describe();
  EXPECT_EQ(token->value.reveal(), "static-token");
  EXPECT_EQ(token->source, token_source::static_token);
  EXPECT_EQ(minter.calls(), 0);
}

TEST(token_chain, cache_hit_calls_no_authenticator) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  ASSERT_TRUE(store->write_token(cache_row("cached-token", clock.now() + std::chrono::hours(1),
                                           clock.now())));
  counting_authenticator minter(clock);
  token_chain chain(*store, &minter, {}, clock);

  auto token = chain.get();

  ASSERT_TRUE(token.ok()) << token.err().describe();
  EXPECT_EQ(token->value.reveal(), "cached-token");
  EXPECT_EQ(token->source, token_source::cache);
  EXPECT_EQ(minter.calls(), 0);
}

TEST(token_chain, expired_row_mints_once_and_caches) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  ASSERT_TRUE(store->write_token(cache_row("old-token", clock.now() - std::chrono::minutes(1),
                                           clock.now() - std::chrono::hours(1))));
  counting_authenticator minter(clock);
  token_chain chain(*store, &minter, {}, clock);

  auto first = chain.get();
  auto second = chain.get();

  ASSERT_TRUE(first.ok()) << first.err().describe();
  ASSERT_TRUE(second.ok()) << second.err().describe();
  EXPECT_EQ(first->value.reveal(), "minted-1");
  EXPECT_EQ(first->source, token_source::authenticator);
  EXPECT_EQ(second->value.reveal(), "minted-1");
  EXPECT_EQ(minter.calls(), 1);

  auto cached = store->read_token("UniversalSearch", clock.now());
  ASSERT_TRUE(cached.ok());
  ASSERT_TRUE(cached->has_value());
  EXPECT_EQ((*cached)->value.reveal(), "minted-1");
  EXPECT_EQ((*cached)->expires, epoch_seconds(clock.now() + std::chrono::hours(1)));

  token_chain next_run(*store, &minter, {}, clock);
  auto reused = next_run.get();
  ASSERT_TRUE(reused.ok());
  EXPECT_EQ(reused->value.reveal(), "minted-1");
  EXPECT_EQ(minter.calls(), 1);
}

TEST(token_chain, row_inside_refresh_margin_is_refreshed) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  ASSERT_TRUE(store->write_token(cache_row("almost-expired", clock.now() + std::chrono::seconds(30),
                                           clock.now())));
  counting_authenticator minter(clock);
  token_chain_settings settings;
  settings.refresh_margin = std::chrono::seconds(60);
  token_chain chain(*store, &minter, settings, clock);

  auto token = chain.get();

  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->value.reveal(), "minted-1");
  EXPECT_EQ(minter.calls(), 1);
}

TEST(token_chain, token_nearing_expiry_during_run_is_replaced) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  counting_authenticator minter(clock, std::chrono::seconds(600));
  token_chain chain(*store, &minter, {}, clock);

  auto first = chain.get();
  clock.advance(std::chrono::seconds(590));
  auto second = chain.get();

  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->value.reveal(), "minted-1");
  EXPECT_EQ(second->value.reveal(), "minted-2");
}

TEST(token_chain, invalidate_skips_rejected_token_and_mints_once) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  ASSERT_TRUE(store->write_token(cache_row("revoked-token", clock.now() + std::chrono::hours(1),
                                           clock.now())));
  counting_authenticator minter(clock);
  token_chain chain(*store, &minter, {}, clock);

  auto first = chain.get();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->value.reveal(), "revoked-token");
  chain.invalidate();
  auto second = chain.get();

  ASSERT_TRUE(second.ok()) << second.err().describe();
  EXPECT_EQ(second->value.reveal(), "minted-1");
  EXPECT_EQ(minter.calls(), 1);
  EXPECT_EQ(chain.mints(), 1);
}

TEST(token_chain, second_rejection_fails_as_auth) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  counting_authenticator minter(clock);
  token_chain chain(*store, &minter, {}, clock);

  ASSERT_TRUE(chain.get().ok());
  chain.invalidate();
  ASSERT_TRUE(chain.get().ok());
  chain.invalidate();
  auto third = chain.get();

  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.err().kind, error_class::auth);
  EXPECT_EQ(minter.calls(), 2);
  testing::expect_no_secrets(third.err(), {"minted-1", "minted-2"});
}

TEST(token_chain, rejected_static_token_falls_back_to_authenticator) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  counting_authenticator minter(clock);
  token_chain_settings settings;
  settings.static_token = secret("static-token");
  token_chain chain(*store, &minter, settings, clock);

  ASSERT_TRUE(chain.get().ok());
  chain.invalidate();
  auto token = chain.get();

  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->value.reveal(), "minted-1");
}

TEST(token_chain, empty_cache_without_authenticator_is_auth_error) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  token_chain chain(*store, nullptr, {}, clock);

  auto token = chain.get();

  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.err().kind, error_class::auth);
  EXPECT_NE(token.err().message.find("UniversalSearch"), std::string::npos);
}

TEST(token_chain, authenticator_failure_is_returned_and_releases_lease) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  counting_authenticator minter(clock);
  minter.fail(true);
  token_chain chain(*store, &minter, {}, clock);

  auto token = chain.get();

  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.err().kind, error_class::auth);
  auto lease = store->acquire_lease(mint_lease_name("UniversalSearch"), "another-run", clock.now(),
                                    clock.now() + std::chrono::seconds(30));
  ASSERT_TRUE(lease.ok());
  EXPECT_TRUE(*lease);
}

TEST(token_chain, waits_for_other_minter_and_reads_its_token) {
  temp_database db;
  auto store = db.open();
  auto other_run = db.open();
  manual_clock clock;
  auto other_lease = other_run->acquire_lease(mint_lease_name("UniversalSearch"), "other-run",
                                       clock.now(), clock.now() + std::chrono::seconds(30));
  ASSERT_TRUE(other_lease.ok());
  ASSERT_TRUE(*other_lease);

  // The other run caches its token while this one sleeps its first wait step.
  class caching_clock final : public clock_source {
   public:
    caching_clock(manual_clock& base, store::job_store& other) : base_(base), other_(other) {}
    timestamp now() const override { return base_.now(); }
    std::chrono::steady_clock::time_point steady_now() const override { return base_.steady_now(); }
    void sleep_for(std::chrono::milliseconds duration) override {
      base_.sleep_for(duration);
      if (base_.sleeps() == 1) {
        ASSERT_TRUE(other_.write_token(
            cache_row("other-runs-token", base_.now() + std::chrono::hours(1), base_.now())));
      }
    }

   private:
    manual_clock& base_;
    store::job_store& other_;
  } waiting_clock(clock, *other_run);

  counting_authenticator minter(clock);
  token_chain chain(*store, &minter, {}, waiting_clock);

  auto token = chain.get();

  ASSERT_TRUE(token.ok()) << token.err().describe();
  EXPECT_EQ(token->value.reveal(), "other-runs-token");
  EXPECT_EQ(minter.calls(), 0);
  EXPECT_EQ(clock.sleeps(), 1);
}

TEST(token_chain, gives_up_after_bounded_waits) {
  temp_database db;
  auto store = db.open();
  auto other_run = db.open();
  manual_clock clock;
  auto other_lease = other_run->acquire_lease(mint_lease_name("UniversalSearch"), "other-run",
                                       clock.now(), clock.now() + std::chrono::hours(1));
  ASSERT_TRUE(other_lease.ok());
  ASSERT_TRUE(*other_lease);
  counting_authenticator minter(clock);
  token_chain_settings settings;
  settings.max_waits = 3;
  token_chain chain(*store, &minter, settings, clock);

  auto token = chain.get();

  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.err().kind, error_class::transient);
  EXPECT_EQ(clock.sleeps(), 3);
  EXPECT_EQ(minter.calls(), 0);
}

TEST(token_chain, abandoned_mint_lease_expires) {
  temp_database db;
  auto store = db.open();
  auto crashed_run = db.open();
  manual_clock clock;
  auto other_lease = crashed_run->acquire_lease(mint_lease_name("UniversalSearch"), "crashed-run",
                                         clock.now(), clock.now() + std::chrono::seconds(2));
  ASSERT_TRUE(other_lease.ok());
  ASSERT_TRUE(*other_lease);
  counting_authenticator minter(clock);
  token_chain_settings settings;
  settings.wait_step = std::chrono::milliseconds(500);
  token_chain chain(*store, &minter, settings, clock);

  auto token = chain.get();

  ASSERT_TRUE(token.ok()) << token.err().describe();
  EXPECT_EQ(token->value.reveal(), "minted-1");
  EXPECT_GE(clock.sleeps(), 4);
}

// Ten runs with their own store instances on one SQLite file and an expired cache: one of them
// mints through the loopback authenticator, the others wait and read its token from the cache.
TEST(token_chain, concurrent_runs_mint_once) {
  temp_database db;
  {
    auto setup = db.open();
    auto now = system_clock_source().now();
    ASSERT_TRUE(setup->write_token(cache_row("expired-token", now - std::chrono::minutes(5),
                                             now - std::chrono::hours(1))));
  }
  doubles::authenticator_double remote("shared-secret");
  // A slow authenticator widens the window in which the runs overlap.
  remote.hang_next(1, std::chrono::milliseconds(300));

  // Real time, but short waits: the runs need real concurrency here.
  class short_sleep_clock final : public clock_source {
   public:
    timestamp now() const override { return system_clock_source().now(); }
    std::chrono::steady_clock::time_point steady_now() const override {
      return std::chrono::steady_clock::now();
    }
    void sleep_for(std::chrono::milliseconds duration) override {
      std::this_thread::sleep_for(duration);
    }
  } clock;

  constexpr int runs = 10;
  std::vector<std::string> tokens(runs);
  std::vector<std::string> failures(runs);
  std::vector<std::thread> threads;
  for (int i = 0; i < runs; ++i) {
    threads.emplace_back([&, i] {
      auto store = db.open();
      if (!store) return;
      auto transport = http::make_curl_client();
      http_authenticator minter(*transport, {remote.url(), secret("shared-secret")}, clock);
      token_chain_settings settings;
      settings.owner = "run-" + std::to_string(i);
      settings.wait_step = std::chrono::milliseconds(50);
      settings.max_waits = 100;
      token_chain chain(*store, &minter, settings, clock);
      auto token = chain.get();
      if (token) {
        tokens[i] = token->value.reveal();
      } else {
        failures[i] = token.err().describe();
      }
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(remote.http_calls(), 1);
  for (int i = 0; i < runs; ++i) {
    EXPECT_EQ(failures[i], "") << "run " << i;
    EXPECT_EQ(tokens[i], "double-token-1") << "run " << i;
  }
}

}  // namespace
}  // namespace job_fetcher::auth
