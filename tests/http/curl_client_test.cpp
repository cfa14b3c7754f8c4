#include "http/client.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

namespace job_fetcher::http {
namespace {

using namespace std::chrono_literals;

request get(std::string url, std::chrono::milliseconds timeout = 30s) {
  request req;
  req.url = std::move(url);
  req.timeout = timeout;
  return req;
}

// A loopback HTTP server on an ephemeral port, stopped when the test ends.
class loopback_server {
 public:
  loopback_server() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~loopback_server() {
    server_.stop();
    thread_.join();
  }
  httplib::Server& server() { return server_; }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(curl_client, returns_status_headers_and_body) {
  loopback_server server;
  server.server().Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 201;
    res.set_header("X-Seen-Auth", req.get_header_value("Authorization"));
    res.set_content(req.body, "application/json");
  });
  auto client = make_curl_client();
  request req;
  req.method = "POST";
  req.url = server.url("/echo");
  req.headers = {{"Authorization", "Bearer abc"}, {"Content-Type", "application/json"}};
  req.body = R"({"a":1})";
  auto res = client->send(req);
  ASSERT_TRUE(res.ok()) << res.err().describe();
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->body, R"({"a":1})");
  EXPECT_EQ(res->header_value("x-seen-auth"), "Bearer abc");
}

TEST(curl_client, reads_cookies_from_set_cookie_headers) {
  loopback_server server;
  server.server().Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Set-Cookie", "visitor_id=1; Path=/");
    res.set_header("Set-Cookie", "visitor_gql_token=oauth2v2_abc; Max-Age=3600; HttpOnly");
    res.set_content("<html></html>", "text/html");
  });
  auto client = make_curl_client();
  auto res = client->send(get(server.url("/")));
  ASSERT_TRUE(res.ok()) << res.err().describe();
  EXPECT_EQ(res->cookie("visitor_gql_token"), "oauth2v2_abc");
  EXPECT_EQ(res->cookie("visitor_id"), "1");
  EXPECT_FALSE(res->cookie("missing").has_value());
}

TEST(curl_client, error_statuses_are_responses) {
  loopback_server server;
  server.server().Get("/busy", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content("busy", "text/plain");
  });
  auto client = make_curl_client();
  auto res = client->send(get(server.url("/busy")));
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 503);
}

TEST(curl_client, oversized_body_fails_as_bad_response) {
  loopback_server server;
  server.server().Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(64 * 1024, 'x'), "text/plain");
  });
  curl_options options;
  options.max_response_bytes = 1024;
  auto client = make_curl_client(options);
  auto res = client->send(get(server.url("/big")));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.err().kind, error_class::bad_response);
  EXPECT_NE(res.err().message.find("1024"), std::string::npos);
}

TEST(curl_client, slow_response_times_out_as_transient) {
  loopback_server server;
  server.server().Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(1500ms);
    res.set_content("late", "text/plain");
  });
  auto client = make_curl_client();
  auto res = client->send(get(server.url("/slow"), 200ms));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.err().kind, error_class::transient);
}

TEST(curl_client, refused_connection_is_transient) {
  // A port that was free a moment ago: bind port 0, read the port, close the socket.
  int port = 0;
  {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    ::close(fd);
  }
  auto client = make_curl_client();
  auto res = client->send(get("http://127.0.0.1:" + std::to_string(port) + "/"));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.err().kind, error_class::transient);
}

TEST(redact_url, drops_credentials_query_and_fragment) {
  EXPECT_EQ(redact_url("https://user:pw@api.example.test:8443/v1/x?key=secret#frag"),
            "https://api.example.test:8443/v1/x");
  EXPECT_EQ(redact_url("http://127.0.0.1:3000/rpc/fn"), "http://127.0.0.1:3000/rpc/fn");
}

TEST(url_encode, escapes_reserved_characters) {
  EXPECT_EQ(url_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(url_encode("AZaz09-._~"), "AZaz09-._~");
}

}  // namespace
}  // namespace job_fetcher::http
