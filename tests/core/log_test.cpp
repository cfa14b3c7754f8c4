#include "core/log.hpp"

#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace job_fetcher {
namespace {

// Captures what the logger writes through a temporary file.
class log_capture {
 public:
  explicit log_capture(bool json) : file_(std::tmpfile()) {
    log::configure({log::level::debug, json, file_});
  }
  ~log_capture() {
    log::configure({});
    std::fclose(file_);
  }
  std::string text() {
    std::fflush(file_);
    std::rewind(file_);
    std::string out;
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file_)) > 0) out.append(buffer, n);
    return out;
  }

 private:
  std::FILE* file_;
};

TEST(log, json_line_carries_context_and_fields) {
  log_capture capture(true);
  log::set_context("feed", "python");
  log::info("fetch", "page stored", {{"page", 3}});
  log::clear_context();
  auto line = nlohmann::json::parse(capture.text());
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["msg"], "fetch: page stored");
  EXPECT_EQ(line["feed"], "python");
  EXPECT_EQ(line["page"], 3);
}

TEST(log, credential_fields_are_masked) {
  log_capture capture(false);
  log::warn("auth", "minted", {{"bearer_token", "oauth2v2_secretvalue"}, {"AUTH_SECRET", "hunter2"}});
  std::string text = capture.text();
  EXPECT_EQ(text.find("oauth2v2_secretvalue"), std::string::npos);
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  EXPECT_NE(text.find("bearer_token=***"), std::string::npos);
}

TEST(log, text_line_reads_operation_fields_event) {
  log_capture capture(false);
  log::error("store", "write failed", {{"sqlstate", "08006"}});
  EXPECT_EQ(capture.text(), "error store sqlstate=08006: write failed\n");
}

TEST(log, levels_below_minimum_are_dropped) {
  log_capture capture(false);
  log::configure({log::level::warn, false, stderr});
  EXPECT_FALSE(log::enabled(log::level::info));
  EXPECT_TRUE(log::enabled(log::level::error));
}

}  // namespace
}  // namespace job_fetcher
