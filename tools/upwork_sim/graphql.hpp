// Just enough GraphQL to read the arguments and field names of the queries clients send.
#pragma once

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace job_fetcher::upwork_sim {

// A query text that cannot be read. The message names the offset of the problem.
class graphql_syntax_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The arguments of one field, with variables replaced by their values.
struct field_arguments {
  nlohmann::json values = nlohmann::json::object();
  // Dotted paths (such as "marketPlaceJobFilter.pagination_eq") whose value came from a variable.
  std::vector<std::string> variable_paths;

  // True when the value at `path`, or an object that contains it, came from a variable.
  bool from_variable(std::string_view path) const;
};

// Finds the first selection of `field` in `query` and reads its arguments. Returns std::nullopt
// when the query does not select the field. A variable missing from `variables` reads as null.
// Throws graphql_syntax_error when the argument list cannot be read.
std::optional<field_arguments> read_field_arguments(std::string_view query, std::string_view field,
                                                    const nlohmann::json& variables);

// Every name in the query text outside strings and comments.
std::set<std::string, std::less<>> query_names(std::string_view query);

// The body of a GraphQL response that failed as a whole: HTTP 200, `errors[]`, `data` null.
std::string graphql_error_body(const std::string& message, const nlohmann::json& extensions);

}  // namespace job_fetcher::upwork_sim
