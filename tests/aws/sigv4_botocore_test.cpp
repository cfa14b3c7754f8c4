// Signs Lambda Invoke requests with our signer and with botocore (through python3 and
// botocore_sign.py next to this file) and requires identical Authorization headers.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/lambda_invoke.hpp"
#include "aws/sigv4.hpp"

namespace job_fetcher::aws {
namespace {

namespace fs = std::filesystem;

// The clock source of a signature test: always the same instant, and no waiting.
class fixed_clock final : public clock_source {
 public:
  explicit fixed_clock(timestamp at) : at_(at) {}
  timestamp now() const override { return at_; }
  std::chrono::steady_clock::time_point steady_now() const override { return {}; }
  void sleep_for(std::chrono::milliseconds) override {}

 private:
  timestamp at_;
};

// A transport that must never be used: these tests only build requests.
class unused_client final : public http::client {
 public:
  result<http::response> send(const http::request&) override {
    ADD_FAILURE() << "no request may be sent";
    return make_error(error_class::transient, "not sent");
  }
};

struct invoke_case {
  std::string label;
  std::string endpoint;
  std::string function;
  std::string qualifier;
  std::string payload;
  bool session_token = false;
};

std::string run_command(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  std::size_t read = 0;
  while ((read = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, read);
  pclose(pipe);
  return output;
}

TEST(sigv4_botocore, lambda_invoke_signatures_match) {
  const std::string at_text = "20260114T093015Z";
  fixed_clock clock(*sigv4::parse_amz_date(at_text));
  unused_client transport;

  std::vector<invoke_case> cases = {
      {"name", "", "job-fetcher-authenticator", "", R"({"secret":"s3cr3t"})"},
      {"arn", "", "arn:aws:lambda:us-east-1:123456789012:function:job-fetcher-authenticator", "",
       R"({"secret":"s3cr3t"})"},
      {"arn with alias", "",
       "arn:aws:lambda:us-east-1:123456789012:function:job-fetcher-authenticator:prod", "",
       R"({"secret":"s3cr3t"})"},
      {"qualifier parameter", "", "job-fetcher-authenticator", "prod", R"({"secret":"s3cr3t"})"},
      {"qualifier version", "", "job-fetcher-authenticator", "$LATEST", "{}"},
      {"utf-8 payload", "", "job-fetcher-authenticator", "",
       "{\"secret\":\"p\xC3\xA4ss \xE2\x9C\x93 \xF0\x9F\x94\x91\",\"note\":\"\xE6\x97\xA5\xE6\x9C\xAC\"}"},
      {"session token", "", "job-fetcher-authenticator", "", R"({"secret":"s3cr3t"})", true},
      {"session token with arn and qualifier", "",
       "arn:aws:lambda:us-east-1:123456789012:function:job-fetcher-authenticator", "7",
       R"({"secret":"s3cr3t"})", true},
      {"loopback endpoint with port", "http://127.0.0.1:9001", "job-fetcher-authenticator", "",
       R"({"secret":"s3cr3t"})", true},
      {"empty payload", "", "job-fetcher-authenticator", "", ""},
  };

  nlohmann::json input = nlohmann::json::array();
  std::vector<std::string> ours;
  for (const auto& c : cases) {
    lambda_settings settings;
    settings.region = "us-east-1";
    settings.endpoint = c.endpoint;
    settings.creds = {"AKIDEXAMPLE", secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                      secret(c.session_token ? "FwoGZXIvYXdzEXAMPLE//session+token=" : "")};
    lambda_invoke_client client(transport, settings, clock);
    http::request req = client.build_request(c.function, c.payload, c.qualifier);

    nlohmann::json headers = nlohmann::json::array();
    for (const auto& h : req.headers) {
      if (h.name == "Authorization") ours.push_back(h.value);
      // botocore adds these itself, from the URL, the clock and the credentials.
      if (h.name == "Authorization" || h.name == "Host" || h.name == "X-Amz-Date" ||
          h.name == "X-Amz-Security-Token") {
        continue;
      }
      headers.push_back({h.name, h.value});
    }
    input.push_back({{"method", req.method},
                     {"url", req.url},
                     {"headers", headers},
                     {"body", req.body},
                     {"access_key", settings.creds.access_key_id},
                     {"secret_key", settings.creds.secret_access_key.reveal()},
                     {"token", settings.creds.session_token.reveal()},
                     {"region", "us-east-1"},
                     {"service", "lambda"},
                     {"amz_date", at_text}});
  }

  fs::path input_file = fs::temp_directory_path() / "job_fetcher_botocore_cases.json";
  std::ofstream(input_file) << input.dump();
  fs::path script = fs::path(__FILE__).parent_path() / "botocore_sign.py";
  std::string output = run_command("python3 '" + script.string() + "' '" + input_file.string() + "'");
  fs::remove(input_file);

  auto theirs = nlohmann::json::parse(output, nullptr, false);
  ASSERT_TRUE(theirs.is_array()) << "python3 with botocore failed; output: " << output;
  ASSERT_EQ(theirs.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(ours[i], theirs[i].get<std::string>()) << cases[i].label;
  }
}

}  // namespace
}  // namespace job_fetcher::aws
