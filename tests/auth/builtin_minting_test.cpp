// Built-in minting against loopback servers: the visitor cookie and OAuth2 with refresh token
// rotation kept in a real SQLite token cache.
#include <gtest/gtest.h>

#include <httplib.h>

#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "auth/oauth2_authenticator.hpp"
#include "auth/visitor_authenticator.hpp"
#include "auth_test_support.hpp"

namespace job_fetcher::auth {
namespace {

using testing::expect_no_secrets;
using testing::manual_clock;
using testing::temp_database;

// A loopback HTTP server; routes are added before start().
class loopback_server {
 public:
  httplib::Server& routes() { return server_; }
  void start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~loopback_server() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST(visitor_authenticator, takes_cookie_and_its_max_age) {
  loopback_server server;
  server.routes().Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Set-Cookie", "other=1; Path=/");
    res.set_header("Set-Cookie", "visitor_gql_token=oauth2v2_abc123; Max-Age=1800; Path=/; Secure");
    res.set_content("<html></html>", "text/html");
  });
  server.start();
  auto transport = http::make_curl_client();
  manual_clock clock;
  visitor_authenticator minter(*transport, {.home_url = server.url("/")}, clock);

  auto minted = minter.mint();

  ASSERT_TRUE(minted.ok()) << minted.err().describe();
  EXPECT_EQ(minted->value.reveal(), "oauth2v2_abc123");
  EXPECT_EQ(minted->expires_at, clock.now() + std::chrono::seconds(1800));
}

TEST(visitor_authenticator, reads_expires_attribute) {
  loopback_server server;
  server.routes().Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Set-Cookie",
                   "visitor_gql_token=oauth2v2_x; Expires=Wed, 01 Jan 2031 00:00:00 GMT; Path=/");
  });
  server.start();
  auto transport = http::make_curl_client();
  visitor_authenticator minter(*transport, {.home_url = server.url("/")});

  auto minted = minter.mint();

  ASSERT_TRUE(minted.ok()) << minted.err().describe();
  EXPECT_EQ(minted->expires_at, timestamp(std::chrono::seconds(1'924'992'000)));
}

TEST(visitor_authenticator, missing_cookie_is_bad_response) {
  loopback_server server;
  server.routes().Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html></html>", "text/html");
  });
  server.start();
  auto transport = http::make_curl_client();
  visitor_authenticator minter(*transport, {.home_url = server.url("/")});

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::bad_response);
  EXPECT_NE(minted.err().message.find("visitor_gql_token"), std::string::npos);
}

TEST(visitor_authenticator, challenge_page_is_blocked) {
  loopback_server server;
  server.routes().Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.status = 403;
    res.set_content("<!DOCTYPE html><title>Just a moment...</title><div class=\"cf-browser\">",
                    "text/html");
  });
  server.start();
  auto transport = http::make_curl_client();
  visitor_authenticator minter(*transport, {.home_url = server.url("/")});

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::blocked);
  EXPECT_EQ(minted.err().http_status, 403);
}

// A token endpoint that follows Upwork's OAuth2 contract for one client.
class token_endpoint {
 public:
  enum class rotation { rotate, omit };

  token_endpoint(std::string client_id, std::string client_secret, std::string refresh_token)
      : client_id_(std::move(client_id)), client_secret_(std::move(client_secret)) {
    valid_refresh_.push_back(std::move(refresh_token));
    server_.routes().Post("/api/v3/oauth2/token",
                          [this](const httplib::Request& req, httplib::Response& res) {
                            handle(req, res);
                          });
    server_.start();
  }

  std::string url() const { return server_.url("/api/v3/oauth2/token"); }
  void set_rotation(rotation r) {
    std::lock_guard lock(mutex_);
    rotation_ = r;
  }
  void revoke_all() {
    std::lock_guard lock(mutex_);
    valid_refresh_.clear();
  }
  void add_refresh_token(std::string token) {
    std::lock_guard lock(mutex_);
    valid_refresh_.push_back(std::move(token));
  }
  int calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::map<std::string, std::string> last_form() const {
    std::lock_guard lock(mutex_);
    return last_form_;
  }

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    ++calls_;
    last_form_.clear();
    for (const auto& [name, value] : req.params) last_form_[name] = value;
    if (req.get_header_value("Content-Type") != "application/x-www-form-urlencoded" ||
        last_form_["client_id"] != client_id_ || last_form_["client_secret"] != client_secret_) {
      res.status = 401;
      res.set_content(R"({"error":"invalid_client","error_description":"Client authentication failed"})",
                      "application/json");
      return;
    }

    nlohmann::json body{{"access_token", "access-" + std::to_string(calls_)},
                        {"token_type", "bearer"}, {"expires_in", "86400"}};
    if (last_form_["grant_type"] == "refresh_token") {
      auto found = std::find(valid_refresh_.begin(), valid_refresh_.end(),
                             last_form_["refresh_token"]);
      if (found == valid_refresh_.end()) {
        res.status = 400;
        res.set_content(R"({"error":"invalid_grant","error_description":"The refresh token is invalid"})",
                        "application/json");
        return;
      }
      if (rotation_ == rotation::rotate) {
        valid_refresh_.erase(found);
        valid_refresh_.push_back("refresh-" + std::to_string(calls_));
        body["refresh_token"] = valid_refresh_.back();
      }
    }
    res.set_content(body.dump(), "application/json");
  }

  std::string client_id_;
  std::string client_secret_;
  mutable std::mutex mutex_;
  std::vector<std::string> valid_refresh_;
  rotation rotation_ = rotation::rotate;
  int calls_ = 0;
  std::map<std::string, std::string> last_form_;
  loopback_server server_;
};

constexpr const char* client_secret_value = "cl!ent&secret=+/%";

oauth2_settings oauth_settings(const std::string& url, const std::string& refresh_token) {
  oauth2_settings settings;
  settings.token_url = url;
  settings.client_id = "client-id-1";
  settings.client_secret = secret(client_secret_value);
  settings.refresh_token = secret(refresh_token);
  return settings;
}

TEST(oauth2_authenticator, form_encodes_every_field) {
  token_endpoint endpoint("client-id-1", client_secret_value, "initial refresh+token&x=y");
  temp_database db;
  auto store = db.open();
  auto transport = http::make_curl_client();
  manual_clock clock;
  oauth2_authenticator minter(*transport, *store,
                              oauth_settings(endpoint.url(), "initial refresh+token&x=y"), clock);

  auto minted = minter.mint();

  ASSERT_TRUE(minted.ok()) << minted.err().describe();
  EXPECT_EQ(minted->value.reveal(), "access-1");
  EXPECT_EQ(minted->expires_at, clock.now() + std::chrono::hours(24));
  auto form = endpoint.last_form();
  EXPECT_EQ(form["grant_type"], "refresh_token");
  EXPECT_EQ(form["refresh_token"], "initial refresh+token&x=y");
  EXPECT_EQ(form["client_secret"], client_secret_value);
}

TEST(oauth2_authenticator, rotated_refresh_token_survives_restart) {
  token_endpoint endpoint("client-id-1", client_secret_value, "refresh-initial");
  temp_database db;
  auto transport = http::make_curl_client();
  manual_clock clock;
  {
    auto store = db.open();
    oauth2_authenticator minter(*transport, *store,
                                oauth_settings(endpoint.url(), "refresh-initial"), clock);
    auto minted = minter.mint();
    ASSERT_TRUE(minted.ok()) << minted.err().describe();
  }

  // A new process: the old refresh token no longer works, the cached rotated one does.
  auto store = db.open();
  auto cached = store->read_token(refresh_token_name("UniversalSearch"), clock.now());
  ASSERT_TRUE(cached.ok());
  ASSERT_TRUE(cached->has_value());
  EXPECT_EQ((*cached)->value.reveal(), "refresh-1");

  oauth2_authenticator restarted(*transport, *store,
                                 oauth_settings(endpoint.url(), "refresh-initial"), clock);
  auto minted = restarted.mint();

  ASSERT_TRUE(minted.ok()) << minted.err().describe();
  EXPECT_EQ(minted->value.reveal(), "access-2");
  EXPECT_EQ(endpoint.last_form()["refresh_token"], "refresh-1");
}

TEST(oauth2_authenticator, old_refresh_token_kept_when_none_returned) {
  token_endpoint endpoint("client-id-1", client_secret_value, "refresh-initial");
  endpoint.set_rotation(token_endpoint::rotation::omit);
  temp_database db;
  auto store = db.open();
  auto transport = http::make_curl_client();
  manual_clock clock;
  oauth2_authenticator minter(*transport, *store, oauth_settings(endpoint.url(), "refresh-initial"),
                              clock);

  ASSERT_TRUE(minter.mint().ok());
  auto second = minter.mint();

  ASSERT_TRUE(second.ok()) << second.err().describe();
  EXPECT_EQ(endpoint.last_form()["refresh_token"], "refresh-initial");
  auto cached = store->read_token(refresh_token_name("UniversalSearch"), clock.now());
  ASSERT_TRUE(cached.ok());
  EXPECT_FALSE(cached->has_value());
}

TEST(oauth2_authenticator, invalid_grant_is_auth_error_with_fix) {
  token_endpoint endpoint("client-id-1", client_secret_value, "refresh-initial");
  endpoint.revoke_all();
  temp_database db;
  auto store = db.open();
  auto transport = http::make_curl_client();
  oauth2_authenticator minter(*transport, *store, oauth_settings(endpoint.url(), "refresh-initial"));

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::auth);
  EXPECT_EQ(minted.err().http_status, 400);
  EXPECT_NE(minted.err().message.find("refresh token expired or revoked"), std::string::npos);
  EXPECT_NE(minted.err().message.find("UPWORK_REFRESH_TOKEN"), std::string::npos);
  expect_no_secrets(minted.err(), {"refresh-initial", client_secret_value});
}

TEST(oauth2_authenticator, revoked_cache_uses_configured_token) {
  token_endpoint endpoint("client-id-1", client_secret_value, "refresh-initial");
  temp_database db;
  auto store = db.open();
  auto transport = http::make_curl_client();
  manual_clock clock;
  {
    oauth2_authenticator minter(*transport, *store,
                                oauth_settings(endpoint.url(), "refresh-initial"), clock);
    ASSERT_TRUE(minter.mint().ok());
  }
  endpoint.revoke_all();
  endpoint.add_refresh_token("refresh-pasted-by-operator");

  oauth2_authenticator minter(*transport, *store,
                              oauth_settings(endpoint.url(), "refresh-pasted-by-operator"), clock);
  auto minted = minter.mint();

  ASSERT_TRUE(minted.ok()) << minted.err().describe();
  EXPECT_EQ(endpoint.calls(), 3);
  auto cached = store->read_token(refresh_token_name("UniversalSearch"), clock.now());
  ASSERT_TRUE(cached.ok());
  ASSERT_TRUE(cached->has_value());
  EXPECT_EQ((*cached)->value.reveal(), "refresh-3");
}

TEST(oauth2_authenticator, wrong_client_secret_is_config_error) {
  token_endpoint endpoint("client-id-1", client_secret_value, "refresh-initial");
  temp_database db;
  auto store = db.open();
  auto transport = http::make_curl_client();
  auto settings = oauth_settings(endpoint.url(), "refresh-initial");
  settings.client_secret = secret("wrong-client-secret");
  oauth2_authenticator minter(*transport, *store, settings);

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::config);
  EXPECT_NE(minted.err().message.find("UPWORK_CLIENT_SECRET"), std::string::npos);
  expect_no_secrets(minted.err(), {"wrong-client-secret", "refresh-initial"});
}

TEST(oauth2_authenticator, client_credentials_grant_sends_no_refresh_token) {
  token_endpoint endpoint("client-id-1", client_secret_value, "unused");
  temp_database db;
  auto store = db.open();
  auto transport = http::make_curl_client();
  auto settings = oauth_settings(endpoint.url(), "");
  settings.grant = oauth2_grant::client_credentials;
  oauth2_authenticator minter(*transport, *store, settings);

  auto minted = minter.mint();

  ASSERT_TRUE(minted.ok()) << minted.err().describe();
  EXPECT_EQ(endpoint.last_form()["grant_type"], "client_credentials");
  EXPECT_EQ(endpoint.last_form().count("refresh_token"), 0u);
}

TEST(oauth2_authenticator, no_refresh_token_is_config_error) {
  temp_database db;
  auto store = db.open();
  auto transport = http::make_curl_client();
  oauth2_authenticator minter(*transport, *store, oauth_settings("http://127.0.0.1:1/token", ""));

  auto minted = minter.mint();

  ASSERT_FALSE(minted.ok());
  EXPECT_EQ(minted.err().kind, error_class::config);
  EXPECT_NE(minted.err().message.find("UPWORK_REFRESH_TOKEN"), std::string::npos);
}

}  // namespace
}  // namespace job_fetcher::auth
