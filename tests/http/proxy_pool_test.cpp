#include "http/proxy_pool.hpp"

#include <httplib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "support/forward_proxy.hpp"

namespace job_fetcher::http {
namespace {

using namespace std::chrono_literals;

// A loopback origin server on an ephemeral port.
class origin_server {
 public:
  origin_server() {
    server_.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("hello through the proxy", "text/plain");
    });
    server_.Get("/proxies", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(list_, "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~origin_server() {
    server_.stop();
    thread_.join();
  }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  void set_list(std::string list) { list_ = std::move(list); }

 private:
  httplib::Server server_;
  std::string list_;
  int port_ = 0;
  std::thread thread_;
};

// A port on loopback that nothing listens on: bound without listen(), then closed.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), size);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST(proxy_list, parses_both_line_forms) {
  auto proxies = parse_proxy_list("10.0.0.1:8080:alice:s3cr:et\n\n# comment\r\n10.0.0.2:3128\r\n",
                                  "test");
  ASSERT_TRUE(proxies.ok()) << proxies.err().describe();
  ASSERT_EQ(proxies->size(), 2u);
  EXPECT_EQ((*proxies)[0].url.reveal(), "http://alice:s3cr%3Aet@10.0.0.1:8080");
  EXPECT_EQ((*proxies)[0].label, "10.0.0.1:8080");
  EXPECT_EQ((*proxies)[1].url.reveal(), "http://10.0.0.2:3128");
  EXPECT_EQ((*proxies)[1].label, "10.0.0.2:3128");
}

TEST(proxy_list, invalid_line_names_line_not_password) {
  auto proxies = parse_proxy_list("10.0.0.1:8080:alice:pw\n10.0.0.2:notaport:bob:hunter2\n",
                                  "PROXY_URL");
  ASSERT_FALSE(proxies.ok());
  EXPECT_EQ(proxies.err().kind, error_class::config);
  EXPECT_NE(proxies.err().message.find("line 2"), std::string::npos);
  EXPECT_EQ(proxies.err().message.find("hunter2"), std::string::npos);
}

TEST(proxy_list, empty_list_is_config_error) {
  auto proxies = parse_proxy_list("# nothing here\n\n", "JOB_FETCHER_PROXY_FILE");
  ASSERT_FALSE(proxies.ok());
  EXPECT_EQ(proxies.err().kind, error_class::config);
}

TEST(proxy_pool, next_rotates_through_every_proxy) {
  auto proxies = parse_proxy_list("10.0.0.1:1\n10.0.0.2:2\n10.0.0.3:3\n", "test");
  ASSERT_TRUE(proxies.ok());
  proxy_pool pool(std::move(proxies).value(), 42);
  std::set<std::string> labels;
  std::string previous;
  for (int i = 0; i < 3; ++i) {
    const proxy_endpoint* proxy = pool.next();
    ASSERT_NE(proxy, nullptr);
    EXPECT_NE(proxy->label, previous);
    previous = proxy->label;
    labels.insert(proxy->label);
  }
  EXPECT_EQ(labels.size(), 3u);
}

TEST(proxy_pool, start_depends_on_seed) {
  std::set<std::string> firsts;
  for (std::uint64_t seed = 0; seed < 32; ++seed) {
    auto proxies = parse_proxy_list("10.0.0.1:1\n10.0.0.2:2\n10.0.0.3:3\n", "test");
    ASSERT_TRUE(proxies.ok());
    proxy_pool pool(std::move(proxies).value(), seed);
    firsts.insert(pool.next()->label);
  }
  EXPECT_GT(firsts.size(), 1u);
}

TEST(proxy_pool, empty_pool_gives_no_proxy) {
  proxy_pool pool;
  EXPECT_TRUE(pool.empty());
  EXPECT_EQ(pool.next(), nullptr);
}

TEST(proxy_pool, loads_list_from_url) {
  origin_server origin;
  origin.set_list("127.0.0.1:3128:user:pw\n127.0.0.1:3129:user:pw\n");
  auto client = make_curl_client();
  auto pool = load_proxy_pool({origin.url("/proxies"), "", ""}, *client, 1);
  ASSERT_TRUE(pool.ok()) << pool.err().describe();
  EXPECT_EQ(pool->size(), 2u);
}

TEST(proxy_pool, loads_list_from_file) {
  auto path = std::filesystem::temp_directory_path() /
              ("proxy_list_" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream out(path);
    out << "127.0.0.1:3128\n";
  }
  auto client = make_curl_client();
  auto pool = load_proxy_pool({"", path.string(), ""}, *client, 1);
  std::filesystem::remove(path);
  ASSERT_TRUE(pool.ok()) << pool.err().describe();
  EXPECT_EQ(pool->size(), 1u);
}

TEST(proxy_pool, missing_file_is_config_error) {
  auto client = make_curl_client();
  auto pool = load_proxy_pool({"", "/nonexistent/proxy-list.txt", ""}, *client, 1);
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.err().kind, error_class::config);
}

TEST(proxy_pool, static_url_label_hides_credentials) {
  auto client = make_curl_client();
  auto pool = load_proxy_pool({"", "", "http://user:hunter2@127.0.0.1:3128"}, *client, 1);
  ASSERT_TRUE(pool.ok());
  const proxy_endpoint* proxy = pool->next();
  ASSERT_NE(proxy, nullptr);
  EXPECT_EQ(proxy->url.reveal(), "http://user:hunter2@127.0.0.1:3128");
  EXPECT_EQ(proxy->label.find("hunter2"), std::string::npos);
}

TEST(curl_proxy, sends_credentials_to_proxy) {
  origin_server origin;
  // "user:pa:ss" in Basic encoding: the password's ':' survives the percent-encoding round trip.
  job_fetcher::testing::forward_proxy proxy("Basic dXNlcjpwYTpzcw==");
  auto proxies = parse_proxy_list(
      "127.0.0.1:" + std::to_string(proxy.port()) + ":user:pa:ss\n", "test");
  ASSERT_TRUE(proxies.ok());
  auto client = make_curl_client();
  request req;
  req.url = origin.url("/hello");
  req.proxy = (*proxies)[0].url.reveal();
  auto res = client->send(req);
  ASSERT_TRUE(res.ok()) << res.err().describe();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hello through the proxy");
  EXPECT_EQ(proxy.requests(), 1);
  EXPECT_EQ(proxy.rejected(), 0);
}

TEST(curl_proxy, rejected_credentials_return_407) {
  origin_server origin;
  job_fetcher::testing::forward_proxy proxy("Basic dXNlcjpyaWdodA==");
  auto client = make_curl_client();
  request req;
  req.url = origin.url("/hello");
  req.proxy = "http://user:wrong@127.0.0.1:" + std::to_string(proxy.port());
  auto res = client->send(req);
  ASSERT_TRUE(res.ok()) << res.err().describe();
  EXPECT_EQ(res->status, 407);
  EXPECT_EQ(proxy.rejected(), 1);
}

TEST(curl_proxy, unreachable_proxy_is_blocked_without_credentials) {
  origin_server origin;
  auto client = make_curl_client();
  request req;
  req.url = origin.url("/hello");
  req.proxy = "http://user:hunter2@127.0.0.1:" + std::to_string(closed_port());
  auto res = client->send(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.err().kind, error_class::blocked) << res.err().describe();
  EXPECT_EQ(res.err().describe().find("hunter2"), std::string::npos);
  EXPECT_NE(res.err().describe().find("127.0.0.1"), std::string::npos);
}

TEST(proxying_client, proxies_only_matching_urls) {
  origin_server origin;
  job_fetcher::testing::forward_proxy proxy;
  auto proxies = parse_proxy_list("127.0.0.1:" + std::to_string(proxy.port()) + "\n", "test");
  ASSERT_TRUE(proxies.ok());
  proxy_pool pool(std::move(proxies).value(), 1);
  auto direct = make_curl_client();
  auto client = make_proxying_client(*direct, pool, {origin.url("/hello")});

  request matching;
  matching.url = origin.url("/hello");
  auto through = client->send(matching);
  ASSERT_TRUE(through.ok()) << through.err().describe();
  EXPECT_EQ(proxy.requests(), 1);

  request other;
  other.url = origin.url("/proxies");
  auto straight = client->send(other);
  ASSERT_TRUE(straight.ok()) << straight.err().describe();
  EXPECT_EQ(proxy.requests(), 1);
}

TEST(proxying_client, rejected_proxy_moves_to_next) {
  origin_server origin;
  job_fetcher::testing::forward_proxy rejecting("", true);
  job_fetcher::testing::forward_proxy working;
  auto proxies = parse_proxy_list("127.0.0.1:" + std::to_string(rejecting.port()) + "\n" +
                                      "127.0.0.1:" + std::to_string(working.port()) + "\n",
                                  "test");
  ASSERT_TRUE(proxies.ok());
  proxy_pool pool(std::move(proxies).value(), 1);
  auto direct = make_curl_client();
  auto client = make_proxying_client(*direct, pool, {origin.url("/")});

  for (int i = 0; i < 4; ++i) {
    request req;
    req.url = origin.url("/hello");
    auto res = client->send(req);
    ASSERT_TRUE(res.ok()) << res.err().describe();
    EXPECT_EQ(res->status, 200);
  }
  EXPECT_EQ(working.requests(), 4);
  EXPECT_GE(rejecting.rejected(), 1);
}

TEST(proxying_client, all_proxies_rejecting_is_blocked) {
  origin_server origin;
  job_fetcher::testing::forward_proxy rejecting("", true);
  auto proxies = parse_proxy_list(
      "127.0.0.1:" + std::to_string(rejecting.port()) + ":user:hunter2\n", "test");
  ASSERT_TRUE(proxies.ok());
  proxy_pool pool(std::move(proxies).value(), 1);
  auto direct = make_curl_client();
  auto client = make_proxying_client(*direct, pool, {origin.url("/")});

  request req;
  req.url = origin.url("/hello");
  auto res = client->send(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.err().kind, error_class::blocked);
  EXPECT_EQ(res.err().http_status, 407);
  EXPECT_EQ(res.err().describe().find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace job_fetcher::http
