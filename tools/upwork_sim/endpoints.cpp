// The Upwork API endpoints: visitor GraphQL, marketplace GraphQL and the OAuth2 token endpoint.
#include <array>
#include <map>
#include <string_view>

#include "graphql.hpp"
#include "responses.hpp"
#include "server.hpp"

namespace job_fetcher::upwork_sim {
namespace {

// Upwork stops every search at 5,000 results: offset + count for the visitor query, and the
// marketplace query's result list.
constexpr std::size_t result_cap = 5000;
constexpr std::size_t max_page_size = 50;
constexpr std::size_t max_user_query_length = 500;

// Fields a visitor token may not read: asking for any of them aborts the whole query.
constexpr std::array<std::string_view, 14> visitor_gated_fields{
    "totalApplicants",    "premium",       "upworkHistoryData", "client",
    "clientCountry",      "buyer",         "totalSpent",        "totalReviews",
    "totalFeedback",      "totalHires",    "paymentVerificationStatus",
    "hasFinancialPrivacy", "clientRelation", "freelancerClientRelation"};

// A request that failed validation; the message goes to the client as a GraphQL error.
struct invalid_request {
  std::string message;
};

std::optional<std::string> bearer_token(const httplib::Request& req) {
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view scheme = "bearer ";
  if (header.size() <= scheme.size()) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    const char c = header[i];
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower != scheme[i]) {
      return std::nullopt;
    }
  }
  return header.substr(scheme.size());
}

struct graphql_request {
  std::string query;
  nlohmann::json variables;
};

// Reads {"query": ..., "variables": ...}; on failure sends 400 and returns std::nullopt.
std::optional<graphql_request> read_graphql_request(const httplib::Request& req,
                                                    httplib::Response& res) {
  try {
    auto body = nlohmann::json::parse(req.body);
    auto query = body.find("query");
    if (query == body.end() || !query->is_string()) {
      throw invalid_request{"the request body has no \"query\" string"};
    }
    graphql_request parsed{query->get<std::string>(), nlohmann::json::object()};
    if (auto variables = body.find("variables"); variables != body.end() && variables->is_object()) {
      parsed.variables = *variables;
    }
    return parsed;
  } catch (const nlohmann::json::exception&) {
    res.status = 400;
    res.set_content(graphql_error_body("Invalid JSON body", {{"classification", "InvalidSyntax"}}),
                    json_content_type);
  } catch (const invalid_request& e) {
    res.status = 400;
    res.set_content(graphql_error_body(e.message, {{"classification", "InvalidSyntax"}}),
                    json_content_type);
  }
  return std::nullopt;
}

// Reads a string or a list of strings.
std::vector<std::string> string_list(const nlohmann::json& value, const std::string& name) {
  std::vector<std::string> out;
  if (value.is_null()) {
    return out;
  }
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
    return out;
  }
  if (!value.is_array()) {
    throw invalid_request{name + " must be a string or a list of strings"};
  }
  for (const auto& item : value) {
    if (!item.is_string()) {
      throw invalid_request{name + " must be a string or a list of strings"};
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::size_t non_negative(const nlohmann::json& object, const char* key, std::size_t fallback,
                         const std::string& name) {
  auto found = object.find(key);
  if (found == object.end() || found->is_null()) {
    return fallback;
  }
  if (!found->is_number_integer() || found->get<std::int64_t>() < 0) {
    throw invalid_request{name + " must be a non-negative integer"};
  }
  return found->get<std::size_t>();
}

struct visitor_request {
  search_filter filter;
  std::size_t offset = 0;
  std::size_t count = 10;
  bool highlight = false;
};

// NOTE: the filters workload, durationV3, clientHires, hourlyRate and budget are accepted and
// ignored, and `sort` is always treated as "recency".
visitor_request parse_visitor_request(const nlohmann::json& request) {
  if (!request.is_object()) {
    throw invalid_request{"Variable 'requestVariables' must be a VisitorJobSearchV1Request object"};
  }
  visitor_request parsed;

  if (auto paging = request.find("paging"); paging != request.end() && !paging->is_null()) {
    if (!paging->is_object()) {
      throw invalid_request{"paging must be an object {offset, count}"};
    }
    parsed.offset = non_negative(*paging, "offset", 0, "paging.offset");
    parsed.count = non_negative(*paging, "count", 10, "paging.count");
  }
  if (parsed.count > max_page_size) {
    throw invalid_request{"Invalid paging: count must be at most 50, got " +
                          std::to_string(parsed.count)};
  }
  if (parsed.offset + parsed.count > result_cap) {
    throw invalid_request{"Invalid paging: offset + count must be at most 5000, got " +
                          std::to_string(parsed.offset + parsed.count)};
  }

  if (auto highlight = request.find("highlight"); highlight != request.end()) {
    if (!highlight->is_boolean()) {
      throw invalid_request{"highlight must be a boolean"};
    }
    parsed.highlight = highlight->get<bool>();
  }

  if (auto query = request.find("userQuery"); query != request.end() && !query->is_null()) {
    if (!query->is_string()) {
      throw invalid_request{"userQuery must be a string"};
    }
    const auto text = query->get<std::string>();
    if (text.size() > max_user_query_length) {
      throw invalid_request{"userQuery must be at most 500 characters"};
    }
    parsed.filter.terms = split_query_terms(text);
  }

  for (const auto& type : string_list(request.value("jobType", nlohmann::json()), "jobType")) {
    const std::string lower = ascii_lower(type);
    if (lower != "hourly" && lower != "fixed") {
      throw invalid_request{"jobType must be hourly or fixed, got " + type};
    }
    parsed.filter.job_types.push_back(lower == "hourly" ? "HOURLY" : "FIXED");
  }
  for (const auto& tier :
       string_list(request.value("contractorTier", nlohmann::json()), "contractorTier")) {
    if (tier != "EntryLevel" && tier != "IntermediateLevel" && tier != "ExpertLevel") {
      throw invalid_request{"contractorTier must be EntryLevel, IntermediateLevel or "
                            "ExpertLevel, got " + tier};
    }
    parsed.filter.contractor_tiers.push_back(tier);
  }
  for (const auto& country : string_list(request.value("location", nlohmann::json()), "location")) {
    parsed.filter.countries.push_back(ascii_lower(country));
  }
  return parsed;
}

std::string visitor_response(const visitor_request& request, const visitor_page& page) {
  std::string body;
  body.reserve(64 + page.results.size() * 4096);
  body += R"({"data":{"search":{"universalSearchNuxt":{"visitorJobSearchV1":{"paging":{"total":)";
  body += std::to_string(page.total);
  body += R"(,"offset":)" + std::to_string(request.offset);
  body += R"(,"count":)" + std::to_string(request.count);
  body += R"(},"results":[)";
  for (std::size_t i = 0; i < page.results.size(); ++i) {
    if (i > 0) body += ',';
    body += page.results[i];
  }
  body += "]}}}}}";
  return body;
}

struct marketplace_request {
  search_filter filter;
  std::size_t first = 10;
  std::optional<std::uint64_t> after_sequence;
};

// NOTE: sortAttributes is always treated as [{field: RECENCY}], and filters other than
// searchExpression_eq and pagination_eq are ignored.
marketplace_request parse_marketplace_request(const nlohmann::json& arguments) {
  marketplace_request parsed;
  const nlohmann::json filter = arguments.value("marketPlaceJobFilter", nlohmann::json());
  if (filter.is_null()) {
    return parsed;
  }
  if (!filter.is_object()) {
    throw invalid_request{"marketPlaceJobFilter must be an object"};
  }

  if (auto expression = filter.find("searchExpression_eq");
      expression != filter.end() && !expression->is_null()) {
    if (!expression->is_string()) {
      throw invalid_request{"searchExpression_eq must be a string"};
    }
    parsed.filter.terms = split_query_terms(expression->get<std::string>());
  }

  auto pagination = filter.find("pagination_eq");
  if (pagination == filter.end() || pagination->is_null()) {
    return parsed;
  }
  if (!pagination->is_object()) {
    throw invalid_request{"pagination_eq must be an object {first, after}"};
  }
  parsed.first = non_negative(*pagination, "first", 10, "pagination_eq.first");
  if (parsed.first > max_page_size) {
    throw invalid_request{"Invalid pagination: first must be at most 50, got " +
                          std::to_string(parsed.first)};
  }
  auto after = pagination->find("after");
  if (after != pagination->end() && !after->is_null()) {
    if (!after->is_string()) {
      throw invalid_request{"pagination_eq.after must be a string"};
    }
    const std::string cursor = after->get<std::string>();
    if (cursor != "0") {
      parsed.after_sequence = decode_cursor(cursor);
      if (!parsed.after_sequence) {
        throw invalid_request{"Invalid cursor: " + cursor};
      }
    }
  }
  return parsed;
}

std::string marketplace_response(const marketplace_page& page) {
  std::string body;
  body.reserve(64 + page.edges.size() * 4096);
  body += R"({"data":{"marketplaceJobPostingsSearch":{"totalCount":)";
  body += std::to_string(page.total);
  body += R"(,"edges":[)";
  for (std::size_t i = 0; i < page.edges.size(); ++i) {
    if (i > 0) body += ',';
    body += R"({"cursor":")" + page.edges[i].cursor + R"(","node":)";
    body += page.edges[i].node;
    body += '}';
  }
  body += R"(],"pageInfo":{"endCursor":)";
  body += page.edges.empty() ? std::string("null") : "\"" + page.edges.back().cursor + "\"";
  body += R"(,"hasNextPage":)";
  body += page.has_next_page ? "true" : "false";
  body += "}}}}";
  return body;
}

}  // namespace

void simulator::handle_visitor(const httplib::Request& req, httplib::Response& res,
                               const request_context&) {
  auto token = bearer_token(req);
  if (!token || tokens_.check(*token, token_kind::visitor) != token_check::valid) {
    send_unauthorized(res);
    return;
  }
  auto request = read_graphql_request(req, res);
  if (!request) {
    return;
  }

  const auto names = query_names(request->query);
  std::vector<std::string> gated;
  for (auto field : visitor_gated_fields) {
    if (names.count(field) > 0) {
      gated.emplace_back(field);
    }
  }
  if (names.count("userJobSearchV1") > 0) {
    gated.emplace_back("userJobSearchV1");
  }
  if (!gated.empty()) {
    send_scope_error(res, gated);
    return;
  }

  try {
    auto arguments = read_field_arguments(request->query, "visitorJobSearchV1", request->variables);
    if (!arguments) {
      throw invalid_request{"The query does not select visitorJobSearchV1"};
    }
    const auto parsed = parse_visitor_request(arguments->values.value("request", nlohmann::json()));
    const auto page = jobs_.visitor_search(parsed.filter, parsed.offset, parsed.count,
                                           parsed.highlight);
    res.set_content(visitor_response(parsed, page), json_content_type);
  } catch (const graphql_syntax_error& e) {
    res.set_content(graphql_error_body(std::string("Invalid Syntax: ") + e.what(),
                                       {{"classification", "InvalidSyntax"}}),
                    json_content_type);
  } catch (const invalid_request& e) {
    send_validation_error(res, e.message);
  }
}

void simulator::handle_marketplace(const httplib::Request& req, httplib::Response& res,
                                   const request_context& context) {
  auto token = bearer_token(req);
  const token_check check = token ? tokens_.check(*token, token_kind::access)
                                  : token_check::unknown_or_expired;
  if (check == token_check::unknown_or_expired || check == token_check::wrong_kind) {
    send_unauthorized(res);
    return;
  }
  auto request = read_graphql_request(req, res);
  if (!request) {
    return;
  }
  if (check == token_check::missing_scope) {
    send_scope_error(res, {"Query.marketplaceJobPostingsSearch", "PageInfo.endCursor",
                           "PageInfo.hasNextPage"});
    return;
  }

  try {
    auto arguments = read_field_arguments(request->query, "marketplaceJobPostingsSearch",
                                          request->variables);
    if (!arguments) {
      throw invalid_request{"The query does not select marketplaceJobPostingsSearch"};
    }
    // Upwork has been seen to fail this way when pagination_eq arrives through variables.
    if (context.pagination_fault &&
        arguments->from_variable("marketPlaceJobFilter.pagination_eq")) {
      res.status = 500;
      res.set_content(graphql_error_body("Exception occurred", nullptr), json_content_type);
      return;
    }
    const auto parsed = parse_marketplace_request(arguments->values);
    const auto page = jobs_.marketplace_search(parsed.filter, parsed.after_sequence,
                                               parsed.first, result_cap);
    res.set_content(marketplace_response(page), json_content_type);
  } catch (const graphql_syntax_error& e) {
    res.set_content(graphql_error_body(std::string("Invalid Syntax: ") + e.what(),
                                       {{"classification", "InvalidSyntax"}}),
                    json_content_type);
  } catch (const invalid_request& e) {
    send_validation_error(res, e.message);
  }
}

// NOTE: client credentials are read from the form only; HTTP Basic client authentication is
// not supported.
void simulator::handle_token(const httplib::Request& req, httplib::Response& res,
                             const request_context&) {
  std::map<std::string, std::string> form;
  for (const auto& [key, value] : req.params) {
    form.emplace(key, value);
  }
  const token_response response = tokens_.exchange(form);
  res.status = response.status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(response.body, json_content_type);
}

}  // namespace job_fetcher::upwork_sim
