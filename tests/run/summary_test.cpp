// The text form of a run summary, as `job-fetcher run` prints it.
#include <gtest/gtest.h>

#include "run/fetch_run.hpp"

namespace job_fetcher::run {
namespace {

TEST(summary_text, one_page_is_singular) {
  run_summary summary;
  summary.feed = "python";
  summary.status = run_status::ok;
  summary.pages = 1;
  summary.api_requests = 1;

  auto text = summary.to_text();

  EXPECT_NE(text.find("; 1 page, 1 API request, "), std::string::npos) << text;
}

TEST(summary_text, several_pages_are_plural) {
  run_summary summary;
  summary.feed = "python";
  summary.status = run_status::ok;
  summary.pages = 3;
  summary.api_requests = 4;

  auto text = summary.to_text();

  EXPECT_NE(text.find("; 3 pages, 4 API requests, "), std::string::npos) << text;
}

}  // namespace
}  // namespace job_fetcher::run
