// Resource limits: a huge response, a response that never ends, deeply nested JSON and long
// descriptions each fail or shrink one thing cleanly instead of exhausting the process.
#include <httplib.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "e2e/e2e_support.hpp"
#include "run/page_source.hpp"
#include "upwork/marketplace.hpp"
#include "upwork/normalize.hpp"
#include "upwork/visitor.hpp"

namespace job_fetcher::e2e {
namespace {

using namespace std::chrono_literals;
using doubles::sim_process;

// A loopback server on an ephemeral port, stopped when the test ends.
class loopback_server {
 public:
  loopback_server() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~loopback_server() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }
  httplib::Server& server() { return server_; }
  bool stopping() const { return stopping_; }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

 private:
  httplib::Server server_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
  std::thread thread_;
};

// AddressSanitizer keeps freed memory in quarantine, so peak RSS says little under it.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool rss_is_meaningful = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool rss_is_meaningful = false;
#else
constexpr bool rss_is_meaningful = true;
#endif
#else
constexpr bool rss_is_meaningful = true;
#endif

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

constexpr std::size_t huge_body_bytes = 50u << 20;
constexpr std::size_t chunk_bytes = 64u << 10;

TEST(resource_limits, fifty_megabyte_response_fails_with_bounded_memory) {
  loopback_server server;
  // The body is produced in chunks, so the server itself never keeps 50 MB in memory.
  server.server().Get("/huge", [](const httplib::Request&, httplib::Response& res) {
    res.set_content_provider(huge_body_bytes, "application/json",
                             [](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                               static const std::string chunk(chunk_bytes, ' ');
                               std::size_t n = std::min(length, chunk_bytes);
                               (void)offset;
                               return sink.write(chunk.data(), n);
                             });
  });
  http::curl_options options;
  options.max_response_bytes = 4u << 20;
  auto client = http::make_curl_client(options);
  long rss_before = max_rss_kib();

  http::request req;
  req.url = server.url("/huge");
  auto res = client->send(req);

  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.err().kind, error_class::bad_response);
  EXPECT_NE(res.err().message.find("exceeds the limit"), std::string::npos);
  // The body is cut at 4 MiB; a string's doubling may reserve 8 MiB. 50 MB would show.
  if (rss_is_meaningful) {
    EXPECT_LT(max_rss_kib() - rss_before, 24 * 1024);
  }

  // The client still works for the next request.
  server.server().Get("/small", [](const httplib::Request&, httplib::Response& r) {
    r.set_content("{}", "application/json");
  });
  http::request small;
  small.url = server.url("/small");
  auto next = client->send(small);
  ASSERT_TRUE(next.ok()) << next.err().describe();
  EXPECT_EQ(next->status, 200);
}

TEST(resource_limits, fifty_megabyte_chunked_response_fails_with_bounded_memory) {
  loopback_server server;
  std::atomic<std::size_t> sent{0};
  // Chunked: no Content-Length, so the client learns the size only while the body arrives.
  server.server().Get("/huge", [&sent](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("application/json",
                                     [&sent](std::size_t offset, httplib::DataSink& sink) {
                                       static const std::string chunk(chunk_bytes, ' ');
                                       if (offset >= huge_body_bytes) {
                                         sink.done();
                                         return true;
                                       }
                                       sent = offset;
                                       return sink.write(chunk.data(), chunk.size());
                                     });
  });
  http::curl_options options;
  options.max_response_bytes = 4u << 20;
  auto client = http::make_curl_client(options);
  long rss_before = max_rss_kib();

  http::request req;
  req.url = server.url("/huge");
  auto res = client->send(req);

  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.err().kind, error_class::bad_response);
  // The client hung up soon after the limit: the server got no further than the limit plus
  // what the socket buffers absorbed.
  EXPECT_LT(sent.load(), std::size_t{32} << 20);
  if (rss_is_meaningful) {
    // The server's buffers live in this process too; a body kept whole would add 50 MB or more.
    EXPECT_LT(max_rss_kib() - rss_before, 40 * 1024);
  }
}

TEST(resource_limits, never_ending_response_times_out) {
  loopback_server server;
  server.server().Get("/trickle", [&server](const httplib::Request&, httplib::Response& res) {
    // One byte every 50 ms, with no end, until the client goes away or the test ends.
    res.set_chunked_content_provider("application/json",
                                     [&server](std::size_t, httplib::DataSink& sink) {
                                       if (server.stopping()) return false;
                                       std::this_thread::sleep_for(50ms);
                                       return sink.write(" ", 1);
                                     });
  });
  auto client = http::make_curl_client();
  http::request req;
  req.url = server.url("/trickle");
  req.timeout = 1s;

  auto started = std::chrono::steady_clock::now();
  auto res = client->send(req);
  auto elapsed = std::chrono::steady_clock::now() - started;

  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.err().kind, error_class::transient);
  EXPECT_LT(elapsed, 5s);
  EXPECT_GE(elapsed, 900ms);
}

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(resource_limits, ten_thousand_deep_visitor_json_is_bad_response) {
  std::string body = R"({"data":{"search":{"universalSearchNuxt":{"visitorJobSearchV1":)" +
                     nested_arrays(10'000) + "}}}}";
  auto page = upwork::parse_visitor_page(200, "application/json", body);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.err().kind, error_class::bad_response);
}

TEST(resource_limits, ten_thousand_deep_marketplace_json_is_bad_response) {
  std::string body = R"({"data":{"marketplaceJobPostingsSearch":)" + nested_arrays(10'000) + "}}";
  auto page = upwork::parse_marketplace_page(200, "application/json", body);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.err().kind, error_class::bad_response);
}

TEST(resource_limits, ten_thousand_deep_error_body_stays_transient) {
  auto page = upwork::parse_visitor_page(500, "application/json", nested_arrays(10'000));
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.err().kind, error_class::transient);
}

TEST(description_truncation, cuts_at_utf8_boundary_with_marker) {
  upwork::posting posting;
  posting.id = "1";
  // 'é' is two bytes; 1,000 of them make 2,000 bytes, so any cut point may fall mid-character.
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "\xC3\xA9";
  posting.description = text;
  posting.content_hash = upwork::content_hash(posting);
  std::string old_hash = posting.content_hash;

  ASSERT_TRUE(run::truncate_description(posting, 1024));

  EXPECT_LE(posting.description.size(), 1024u);
  EXPECT_TRUE(posting.description.ends_with(run::description_truncation_marker));
  EXPECT_TRUE(upwork::is_valid_utf8(posting.description));
  EXPECT_NE(posting.content_hash, old_hash);
  EXPECT_EQ(posting.content_hash, upwork::content_hash(posting));
}

TEST(description_truncation, leaves_short_description_alone) {
  upwork::posting posting;
  posting.description = "short";
  EXPECT_FALSE(run::truncate_description(posting, 1024));
  EXPECT_EQ(posting.description, "short");
}

TEST(description_truncation, run_stores_truncated_descriptions) {
  temp_dir dir;
  std::string store_url = "sqlite:" + (dir.path() / "jobs.db").string();
  sim_process sim({"--published", "400", "--seed", "9"});
  auto values = sim_settings(sim, store_url);
  values.backfill = 300;
  values.max_description_bytes = 1024;

  auto summary = run_once(values);

  ASSERT_EQ(summary.status, run::run_status::ok) << summary.to_text();
  auto db = open_for_inspection(store_url);
  auto rows = db->read_postings(1000);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 300u);
  int truncated = 0;
  for (const auto& row : *rows) {
    const auto& description = row.posting.description;
    EXPECT_LE(description.size(), 1024u) << row.posting.id;
    EXPECT_TRUE(upwork::is_valid_utf8(description)) << row.posting.id;
    if (description.ends_with(run::description_truncation_marker)) ++truncated;
  }
  // Real descriptions often run past 1 KiB, so some of 300 must have been cut.
  EXPECT_GT(truncated, 0);
}

}  // namespace
}  // namespace job_fetcher::e2e
