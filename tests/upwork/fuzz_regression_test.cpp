// Inputs found by the fuzz targets in fuzz/, kept so the fixed failures stay fixed. These tests
// catch the failures reliably only under AddressSanitizer (the asan preset).
#include <gtest/gtest.h>

#include "upwork/marketplace.hpp"
#include "upwork/visitor.hpp"

namespace job_fetcher::upwork {
namespace {

// GraphQL errors used to render their JSON path from a json_path whose parent was a temporary,
// a stack-use-after-scope on every response with errors[].
constexpr std::string_view server_timeout_errors =
    R"({"errors": [{"message": "Server timeout"}], "data": null})";

TEST(fuzz_regression, visitor_graphql_errors_path_is_valid) {
  auto page = parse_visitor_page(200, "application/json", server_timeout_errors);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.err().kind, error_class::transient);
  EXPECT_NE(page.err().describe().find("Server timeout"), std::string::npos);
}

TEST(fuzz_regression, marketplace_graphql_errors_path_is_valid) {
  auto page = parse_marketplace_page(200, "application/json", server_timeout_errors);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.err().kind, error_class::transient);
}

TEST(fuzz_regression, errors_member_not_array_names_path) {
  auto page = parse_visitor_page(200, "application/json", R"({"errors": 5})");
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.err().kind, error_class::bad_response);
  EXPECT_EQ(page.err().json_path, "$.errors");
}

}  // namespace
}  // namespace job_fetcher::upwork
