// The Authenticator handler: secret check, minting and the token_tracker write.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/authenticate_handler.hpp"
#include "auth_test_support.hpp"

namespace job_fetcher::auth {
namespace {

using testing::counting_authenticator;
using testing::epoch_seconds;
using testing::manual_clock;
using testing::temp_database;

constexpr const char* handler_secret = "handler-shared-secret-0123456789";

authenticate_settings handler_settings() { return {secret(handler_secret), "UniversalSearch"}; }

std::string secret_body(const std::string& value) {
  return nlohmann::json{{"secret", value}}.dump();
}

TEST(secrets_equal, compares_whole_values) {
  secret expected("abc");
  EXPECT_TRUE(secrets_equal("abc", expected));
  EXPECT_FALSE(secrets_equal("abd", expected));
  EXPECT_FALSE(secrets_equal("ab", expected));
  EXPECT_FALSE(secrets_equal("abcd", expected));
  EXPECT_FALSE(secrets_equal("", expected));
  EXPECT_FALSE(secrets_equal(std::string("abc\0", 4), expected));
}

TEST(authenticate_handler, right_secret_mints_and_caches) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  counting_authenticator minter(clock);

  auto response = handle_authenticate(secret_body(handler_secret), handler_settings(), minter,
                                      *store, clock);

  ASSERT_TRUE(response.ok()) << response.err().describe();
  auto body = nlohmann::json::parse(*response);
  EXPECT_EQ(body["status_code"], 200);
  EXPECT_EQ(body["token"], "minted-1");
  EXPECT_EQ(body["expires"], epoch_seconds(clock.now() + std::chrono::hours(1)));
  EXPECT_EQ(minter.calls(), 1);

  auto cached = store->read_token("UniversalSearch", clock.now());
  ASSERT_TRUE(cached.ok());
  ASSERT_TRUE(cached->has_value());
  EXPECT_EQ((*cached)->value.reveal(), "minted-1");
  EXPECT_EQ((*cached)->expires, epoch_seconds(clock.now() + std::chrono::hours(1)));
}

TEST(authenticate_handler, accepts_string_encoded_and_proxy_bodies) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  counting_authenticator minter(clock);
  std::string inner = secret_body(handler_secret);

  for (const std::string& request : {nlohmann::json(inner).dump(),
                                     nlohmann::json{{"body", inner}}.dump()}) {
    auto response = handle_authenticate(request, handler_settings(), minter, *store, clock);
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(nlohmann::json::parse(*response)["status_code"], 200) << request;
  }
}

TEST(authenticate_handler, wrong_or_missing_secret_is_401_without_mint) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  counting_authenticator minter(clock);

  for (const std::string& request :
       {secret_body("handler-shared-secret-0123456788"), secret_body("short"), secret_body(""),
        std::string(R"({"other":"field"})"), std::string(R"({"secret":42})")}) {
    SCOPED_TRACE(request);
    auto response = handle_authenticate(request, handler_settings(), minter, *store, clock);
    ASSERT_TRUE(response.ok());
    auto body = nlohmann::json::parse(*response);
    EXPECT_EQ(body["status_code"], 401);
    EXPECT_EQ(body["error"], "invalid secret");
    EXPECT_EQ(response->find(handler_secret), std::string::npos);
  }
  EXPECT_EQ(minter.calls(), 0);
  auto cached = store->read_token("UniversalSearch", clock.now());
  ASSERT_TRUE(cached.ok());
  EXPECT_FALSE(cached->has_value());
}

TEST(authenticate_handler, invalid_json_is_400) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  counting_authenticator minter(clock);

  auto response = handle_authenticate("secret=abc", handler_settings(), minter, *store, clock);

  ASSERT_TRUE(response.ok());
  EXPECT_EQ(nlohmann::json::parse(*response)["status_code"], 400);
  EXPECT_EQ(minter.calls(), 0);
}

TEST(authenticate_handler, mint_failure_is_returned_as_error) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  counting_authenticator minter(clock);
  minter.fail(true);

  auto response = handle_authenticate(secret_body(handler_secret), handler_settings(), minter,
                                      *store, clock);

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.err().kind, error_class::auth);
  testing::expect_no_secrets(response.err(), {handler_secret});
}

TEST(authenticate_handler, empty_expected_secret_is_config_error) {
  temp_database db;
  auto store = db.open();
  manual_clock clock;
  counting_authenticator minter(clock);

  auto response = handle_authenticate(secret_body(""), {secret(), "UniversalSearch"}, minter,
                                      *store, clock);

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.err().kind, error_class::config);
  EXPECT_EQ(minter.calls(), 0);
}

}  // namespace
}  // namespace job_fetcher::auth
