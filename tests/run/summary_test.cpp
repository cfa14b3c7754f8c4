// The text form of a run summary, as `job-fetcher run` prints it.
#include <gtest/gtest.h>

#include "run/fetch_run.hpp"

namespace job_fetcher::run {
namespace {

TEST(summary_text, counts_agree_in_number) {
  struct row {
    std::int64_t pages;
    std::int64_t requests;
    const char* expected;
  };
  for (const auto& [pages, requests, expected] :
       {row{1, 1, "; 1 page, 1 API request, "}, row{3, 4, "; 3 pages, 4 API requests, "},
        row{0, 0, "; 0 pages, 0 API requests, "}}) {
    run_summary summary;
    summary.feed = "python";
    summary.status = run_status::ok;
    summary.pages = pages;
    summary.api_requests = requests;

    auto text = summary.to_text();

    EXPECT_NE(text.find(expected), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace job_fetcher::run
