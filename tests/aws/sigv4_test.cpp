// Runs the AWS Signature Version 4 test suite: every case folder contains the raw request (.req) and
// the expected canonical request (.creq), string to sign (.sts) and Authorization value (.authz).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "aws/sigv4.hpp"
#include "core/clock.hpp"

namespace job_fetcher::aws {
namespace {

namespace fs = std::filesystem;

// The parameters the suite was generated with.
constexpr const char* suite_key_id = "AKIDEXAMPLE";
constexpr const char* suite_secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::size_t suite_case_count = 31;

credentials suite_credentials() {
  return {suite_key_id, secret(suite_secret_key), secret()};
}

sigv4::scope suite_scope() { return {"us-east-1", "service"}; }

timestamp suite_time() { return *sigv4::parse_amz_date("20150830T123600Z"); }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct suite_case {
  std::string name;
  fs::path folder;
};

std::vector<suite_case> find_cases() {
  std::vector<suite_case> cases;
  for (const auto& entry : fs::recursive_directory_iterator(JOB_FETCHER_DATA_DIR "/sigv4")) {
    if (!entry.is_directory()) continue;
    std::string name = entry.path().filename().string();
    if (fs::exists(entry.path() / (name + ".req"))) cases.push_back({name, entry.path()});
  }
  return cases;
}

// Parses a raw request of the suite. A line that starts with whitespace continues the previous
// header; the suite expects each such line as one more value of that header.
http::request parse_raw_request(const std::string& raw) {
  http::request req;
  std::istringstream in(raw);
  std::string line;

  std::getline(in, line);
  auto first_space = line.find(' ');
  auto version = line.rfind(" HTTP/");
  req.method = line.substr(0, first_space);
  std::string target = line.substr(first_space + 1, version - first_space - 1);
  req.url = "https://example.amazonaws.com" + target;

  while (std::getline(in, line) && !line.empty()) {
    if ((line[0] == ' ' || line[0] == '\t') && !req.headers.empty()) {
      req.headers.push_back({req.headers.back().name, line});
      continue;
    }
    auto colon = line.find(':');
    req.headers.push_back({line.substr(0, colon), line.substr(colon + 1)});
  }

  std::string body;
  std::getline(in, body, '\0');
  req.body = body;
  return req;
}

TEST(sigv4_suite, finds_every_case) {
  EXPECT_EQ(find_cases().size(), suite_case_count);
}

TEST(sigv4_suite, matches_every_case_byte_for_byte) {
  auto cases = find_cases();
  ASSERT_FALSE(cases.empty()) << "no cases under " << JOB_FETCHER_DATA_DIR "/sigv4";

  std::size_t checked = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto base = c.folder / c.name;
    http::request req = parse_raw_request(read_file(base.string() + ".req"));

    auto parts = sigv4::compute(req, suite_credentials(), suite_scope(), suite_time());

    EXPECT_EQ(parts.canonical_request, read_file(base.string() + ".creq"));
    EXPECT_EQ(parts.string_to_sign, read_file(base.string() + ".sts"));
    EXPECT_EQ(parts.authorization, read_file(base.string() + ".authz"));
    ++checked;
  }
  EXPECT_EQ(checked, suite_case_count);
}

TEST(sigv4_sign, adds_date_host_and_authorization) {
  http::request req;
  req.method = "GET";
  req.url = "https://example.amazonaws.com/";

  sigv4::sign(req, suite_credentials(), suite_scope(), suite_time());

  std::string expected = read_file(JOB_FETCHER_DATA_DIR "/sigv4/get-vanilla/get-vanilla.authz");
  std::string authorization;
  std::string date;
  for (const auto& h : req.headers) {
    if (h.name == "Authorization") authorization = h.value;
    if (h.name == "X-Amz-Date") date = h.value;
  }
  EXPECT_EQ(authorization, expected);
  EXPECT_EQ(date, "20150830T123600Z");
}

TEST(sigv4_sign, signs_session_token_before_signature) {
  const std::string folder = JOB_FETCHER_DATA_DIR "/sigv4/post-sts-token/";
  std::string readme = read_file(folder + "readme.txt");
  std::string token = readme.substr(readme.rfind('\n') + 1);
  ASSERT_TRUE(token.starts_with("AQoDYXdz"));

  http::request req;
  req.method = "POST";
  req.url = "https://example.amazonaws.com/";
  credentials creds = suite_credentials();
  creds.session_token = secret(token);

  sigv4::sign(req, creds, suite_scope(), suite_time());

  std::string authorization;
  std::string sent_token;
  for (const auto& h : req.headers) {
    if (h.name == "Authorization") authorization = h.value;
    if (h.name == "X-Amz-Security-Token") sent_token = h.value;
  }
  EXPECT_EQ(authorization,
            read_file(folder + "post-sts-header-before/post-sts-header-before.authz"));
  EXPECT_EQ(sent_token, token);
}

TEST(sigv4_sign, adds_unsigned_session_token_after_signature) {
  const std::string folder = JOB_FETCHER_DATA_DIR "/sigv4/post-sts-token/";
  http::request req;
  req.method = "POST";
  req.url = "https://example.amazonaws.com/";
  credentials creds = suite_credentials();
  creds.session_token = secret("session-token-value");
  sigv4::options opts;
  opts.sign_session_token = false;

  sigv4::sign(req, creds, suite_scope(), suite_time(), opts);

  std::string authorization;
  bool token_sent = false;
  for (const auto& h : req.headers) {
    if (h.name == "Authorization") authorization = h.value;
    if (h.name == "X-Amz-Security-Token") token_sent = h.value == "session-token-value";
  }
  EXPECT_EQ(authorization, read_file(folder + "post-sts-header-after/post-sts-header-after.authz"));
  EXPECT_TRUE(token_sent);
}

TEST(sigv4_sign, signing_twice_replaces_previous_headers) {
  http::request req;
  req.method = "GET";
  req.url = "https://example.amazonaws.com/";

  sigv4::sign(req, suite_credentials(), suite_scope(), suite_time() - std::chrono::hours(1));
  sigv4::sign(req, suite_credentials(), suite_scope(), suite_time());

  int authorizations = 0;
  for (const auto& h : req.headers) authorizations += h.name == "Authorization" ? 1 : 0;
  EXPECT_EQ(authorizations, 1);
  EXPECT_EQ(req.headers.back().value,
            read_file(JOB_FETCHER_DATA_DIR "/sigv4/get-vanilla/get-vanilla.authz"));
}

TEST(sigv4_sign, host_keeps_non_default_port_only) {
  http::request with_port;
  with_port.url = "http://127.0.0.1:8080/path";
  sigv4::sign(with_port, suite_credentials(), suite_scope(), suite_time());
  http::request default_port;
  default_port.url = "https://user:pw@example.amazonaws.com:443/path";
  sigv4::sign(default_port, suite_credentials(), suite_scope(), suite_time());

  EXPECT_EQ(with_port.headers.front().value, "127.0.0.1:8080");
  EXPECT_EQ(default_port.headers.front().value, "example.amazonaws.com");
}

TEST(sigv4_sign, content_sha256_header_is_signed_when_asked) {
  http::request req;
  req.method = "POST";
  req.url = "https://example.amazonaws.com/";
  req.body = "Param1=value1";
  sigv4::options opts;
  opts.add_content_sha256 = true;

  sigv4::sign(req, suite_credentials(), suite_scope(), suite_time(), opts);

  EXPECT_NE(req.headers.back().value.find("x-amz-content-sha256"), std::string::npos);
  bool hash_sent = false;
  for (const auto& h : req.headers) {
    if (h.name == "X-Amz-Content-Sha256") {
      hash_sent = h.value == "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";
    }
  }
  EXPECT_TRUE(hash_sent);
}

TEST(sigv4_date, formats_and_parses_amz_date) {
  auto parsed = sigv4::parse_amz_date("20150830T123600Z");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(format_timestamp(*parsed), "2015-08-30T12:36:00.000Z");
  EXPECT_EQ(sigv4::format_amz_date(*parsed + std::chrono::milliseconds(999)), "20150830T123600Z");
  EXPECT_FALSE(sigv4::parse_amz_date("2015-08-30").has_value());
}

}  // namespace
}  // namespace job_fetcher::aws
