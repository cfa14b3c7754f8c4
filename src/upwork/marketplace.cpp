#include "upwork/marketplace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "upwork/json_reader.hpp"
#include "upwork/normalize.hpp"

namespace job_fetcher::upwork {

namespace {

using detail::json_path;
using detail::object_reader;

constexpr std::string_view selection_set =
    "totalCount"
    " edges { cursor node { id ciphertext title description publishedDateTime createdDateTime"
    " amount { rawValue currency } hourlyBudgetMin { rawValue currency }"
    " hourlyBudgetMax { rawValue currency } skills { name prettyName } experienceLevel"
    " duration durationLabel engagement"
    " client { location { country } } } }"
    " pageInfo { endCursor hasNextPage }";

constexpr std::string_view scope_fix =
    "grant the app key the \"Read marketplace Job Postings\" permission and get a new token";

const nlohmann::json::error_handler_t replace_invalid = nlohmann::json::error_handler_t::replace;

error config_failure(std::string message) {
  return make_error(error_class::config, std::move(message));
}

std::string_view job_type_enum(std::string_view job_type) {
  return job_type == "hourly" ? "HOURLY" : "FIXED";
}

std::string_view experience_level_enum(std::string_view level) {
  if (level == "entry") return "ENTRY_LEVEL";
  if (level == "intermediate") return "INTERMEDIATE";
  return "EXPERT";
}

// Returns a GraphQL string literal; JSON string syntax is a subset of GraphQL's.
std::string graphql_string(std::string_view text) {
  return nlohmann::json(text).dump(-1, ' ', false, replace_invalid);
}

// The filter as a GraphQL input object literal: enum values bare, strings quoted.
std::string filter_literal(const marketplace_query& query, std::string_view after_cursor) {
  std::vector<std::string> members;
  if (!query.search_expression.empty()) {
    members.push_back(fmt::format("searchExpression_eq: {}", graphql_string(query.search_expression)));
  }
  if (query.job_type) members.push_back(fmt::format("jobType_eq: {}", job_type_enum(*query.job_type)));
  if (query.experience_level) {
    members.push_back(
        fmt::format("experienceLevel_eq: {}", experience_level_enum(*query.experience_level)));
  }
  if (query.days_posted) members.push_back(fmt::format("daysPosted_eq: {}", *query.days_posted));
  if (!query.locations.empty()) {
    std::vector<std::string> quoted;
    for (const auto& location : query.locations) quoted.push_back(graphql_string(location));
    members.push_back(fmt::format("locations_any: [{}]", fmt::join(quoted, ", ")));
  }
  members.push_back(fmt::format("pagination_eq: {{first: {}, after: {}}}", query.page_size,
                                graphql_string(after_cursor)));
  return fmt::format("{{{}}}", fmt::join(members, ", "));
}

nlohmann::json filter_variables(const marketplace_query& query, std::string_view after_cursor) {
  nlohmann::json filter = nlohmann::json::object();
  if (!query.search_expression.empty()) filter["searchExpression_eq"] = query.search_expression;
  if (query.job_type) filter["jobType_eq"] = job_type_enum(*query.job_type);
  if (query.experience_level) {
    filter["experienceLevel_eq"] = experience_level_enum(*query.experience_level);
  }
  if (query.days_posted) filter["daysPosted_eq"] = *query.days_posted;
  if (!query.locations.empty()) filter["locations_any"] = query.locations;
  filter["pagination_eq"] = {{"first", query.page_size}, {"after", after_cursor}};
  return filter;
}

struct money {
  std::optional<std::string> amount;
  std::optional<std::string> currency;
};

money read_money(object_reader& node_reader, std::string_view key) {
  money value;
  auto money_object = node_reader.object(key);
  if (!money_object) return value;
  json_path money_path = node_reader.path().child(key);
  object_reader money_reader(*money_object, money_path, *node_reader.failure_slot());
  value.amount = money_reader.decimal("rawValue");
  if (auto currency = money_reader.text("currency"); currency && !currency->empty()) {
    value.currency = normalize_currency(*currency);
    if (!value.currency) money_reader.fail("currency", "expected a three-letter ISO 4217 code");
  }
  return value;
}

void read_skills(object_reader& node_reader, std::vector<std::string>& skills) {
  auto entries = node_reader.array("skills");
  if (!entries) return;
  json_path skills_path = node_reader.path().child("skills");
  std::optional<error>& failure = *node_reader.failure_slot();
  std::size_t index = 0;
  for (simdjson::dom::element entry : *entries) {
    json_path entry_path = skills_path.at(index++);
    auto entry_object = entry.get_object();
    if (entry_object.error()) {
      if (!failure) failure = detail::bad_response_at(entry_path, "expected an object");
      return;
    }
    object_reader skill_reader(entry_object.value(), entry_path, failure);
    auto name = skill_reader.text("prettyName");
    if (!name || name->empty()) name = skill_reader.text("name");
    if (name) add_skill(skills, clean_text(*name));
  }
}

std::optional<std::string> read_client_country(object_reader& node_reader) {
  auto client = node_reader.object("client");
  if (!client) return std::nullopt;
  json_path client_path = node_reader.path().child("client");
  object_reader client_reader(*client, client_path, *node_reader.failure_slot());
  auto location = client_reader.object("location");
  if (!location) return std::nullopt;
  json_path location_path = client_path.child("location");
  object_reader location_reader(*location, location_path, *node_reader.failure_slot());
  auto country = location_reader.text("country");
  return country ? std::optional<std::string>(*country) : std::nullopt;
}

bool is_positive(const std::optional<std::string>& amount) {
  return amount && !is_zero_decimal(*amount);
}

// Infers the job type, which the node has no field for: an hourly range above zero is hourly,
// else a fixed amount above zero is fixed. The search sends "0.0" as the amount of the other
// type, so a node whose amounts are all zero or null has an unknown type (null).
std::optional<std::string> infer_job_type(const posting& job) {
  if (is_positive(job.hourly_min) || is_positive(job.hourly_max)) return "hourly";
  if (is_positive(job.fixed_budget)) return "fixed";
  return std::nullopt;
}

// Sets to null each zero amount that is not of the job type, so every zero amount when the type
// is unknown. A "0.0" from this search is never a real budget.
void drop_zero_amounts(posting& job) {
  auto drop_zero = [](std::optional<std::string>& amount) {
    if (amount && is_zero_decimal(*amount)) amount.reset();
  };
  if (job.job_type != "hourly") {
    drop_zero(job.hourly_min);
    drop_zero(job.hourly_max);
  }
  if (job.job_type != "fixed") drop_zero(job.fixed_budget);
}

void read_amounts(object_reader& node_reader, posting& job) {
  money fixed = read_money(node_reader, "amount");
  money hourly_min = read_money(node_reader, "hourlyBudgetMin");
  money hourly_max = read_money(node_reader, "hourlyBudgetMax");
  job.fixed_budget = std::move(fixed.amount);
  job.hourly_min = std::move(hourly_min.amount);
  job.hourly_max = std::move(hourly_max.amount);
  for (auto* currency : {&fixed.currency, &hourly_min.currency, &hourly_max.currency}) {
    if (*currency) {
      job.currency = std::move(**currency);
      break;
    }
  }
}

void read_times(object_reader& node_reader, posting& job) {
  auto published = node_reader.time("publishedDateTime");
  job.created_at = node_reader.time("createdDateTime");
  if (published) {
    job.published_at = *published;
  } else if (job.created_at) {
    job.published_at = *job.created_at;
  } else {
    node_reader.fail("publishedDateTime", "missing or null, and so is createdDateTime");
  }
}

result<posting> read_node(simdjson::dom::element edge, const json_path& edge_path) {
  auto edge_object = edge.get_object();
  if (edge_object.error()) return detail::bad_response_at(edge_path, "expected an object");
  auto node = detail::require_object(edge_object.value(), "node", edge_path);
  if (!node) return std::move(node).err();

  std::optional<error> failure;
  json_path path = edge_path.child("node");
  object_reader node_reader(*node, path, failure);
  posting job;
  job.source = marketplace_source_name;

  std::string_view id = node_reader.required_text("id");
  if (!std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    node_reader.fail("id", "expected a numeric job id");
  }
  job.id.assign(id);
  job.ciphertext.assign(node_reader.required_text("ciphertext"));
  job.link = job_link(job.ciphertext);
  job.title = clean_text(node_reader.required_text("title"));
  if (auto description = node_reader.text("description")) job.description = clean_text(*description);
  read_skills(node_reader, job.skills);
  read_amounts(node_reader, job);
  job.job_type = infer_job_type(job);
  if (auto level = node_reader.scalar_text("experienceLevel")) {
    job.contractor_tier = normalize_contractor_tier(*level);
  }
  // `duration` is an enum (WEEK, MONTH, ...), so the label comes from `durationLabel`.
  if (auto label = node_reader.text("durationLabel")) job.duration_label = std::string(*label);
  if (auto engagement = node_reader.text("engagement")) job.workload = std::string(*engagement);
  job.client_country = read_client_country(node_reader);
  read_times(node_reader, job);
  if (failure) return std::move(*failure);

  drop_zero_amounts(job);
  job.content_hash = content_hash(job);
  return job;
}

}  // namespace

result<void> validate(const marketplace_query& query) {
  if (query.page_size < 1 || query.page_size > max_marketplace_page_size) {
    return config_failure(fmt::format("invalid page_size {}; use 1 to {}", query.page_size,
                                      max_marketplace_page_size));
  }
  if (!is_valid_utf8(query.search_expression)) {
    return config_failure("invalid search_expression: not valid UTF-8; fix the text encoding");
  }
  if (query.job_type && *query.job_type != "hourly" && *query.job_type != "fixed") {
    return config_failure(fmt::format("invalid job_type \"{}\"; use hourly or fixed",
                                      clean_text(*query.job_type)));
  }
  if (query.experience_level && *query.experience_level != "entry" &&
      *query.experience_level != "intermediate" && *query.experience_level != "expert") {
    return config_failure(fmt::format("invalid experience_level \"{}\"; use entry, intermediate "
                                      "or expert",
                                      clean_text(*query.experience_level)));
  }
  if (query.days_posted && *query.days_posted < 1) {
    return config_failure(fmt::format("invalid days_posted {}; use 1 or more", *query.days_posted));
  }
  for (const auto& location : query.locations) {
    if (location.empty() || !is_valid_utf8(location)) {
      return config_failure("invalid locations entry; use a country or city name");
    }
  }
  return {};
}

std::string build_marketplace_request(const marketplace_query& query,
                                      std::string_view after_cursor, bool inline_pagination) {
  if (after_cursor.empty()) after_cursor = first_marketplace_cursor;

  if (inline_pagination) {
    nlohmann::json body = {
        {"query", fmt::format("query {{ marketplaceJobPostingsSearch(marketPlaceJobFilter: {}, "
                              "searchType: USER_JOBS_SEARCH, sortAttributes: [{{field: RECENCY}}]) "
                              "{{ {} }} }}",
                              filter_literal(query, after_cursor), selection_set)},
        {"variables", nlohmann::json::object()},
    };
    return body.dump(-1, ' ', false, replace_invalid);
  }

  nlohmann::json body = {
      {"query",
       // The operation name differs from the field name: upwork-sim finds the field's
       // arguments by the first occurrence of the field name.
       fmt::format("query SearchMarketplaceJobPostings("
                   "$marketPlaceJobFilter: MarketplaceJobPostingsSearchFilter, "
                   "$searchType: MarketplaceJobPostingSearchType, "
                   "$sortAttributes: [MarketplaceJobPostingSearchSortAttribute]) "
                   "{{ marketplaceJobPostingsSearch(marketPlaceJobFilter: $marketPlaceJobFilter, "
                   "searchType: $searchType, sortAttributes: $sortAttributes) {{ {} }} }}",
                   selection_set)},
      {"variables",
       {{"marketPlaceJobFilter", filter_variables(query, after_cursor)},
        {"searchType", "USER_JOBS_SEARCH"},
        {"sortAttributes", nlohmann::json::array({{{"field", "RECENCY"}}})}}},
  };
  return body.dump(-1, ' ', false, replace_invalid);
}

result<page> parse_marketplace_page(int http_status, std::string_view content_type,
                                    std::string_view body) {
  auto root = detail::open_graphql_response(http_status, content_type, body, scope_fix);
  if (!root) return std::move(root).err();

  json_path root_path;
  auto root_object = root->get_object();
  if (root_object.error()) return detail::bad_response_at(root_path, "expected an object");
  json_path data_path = root_path.child("data");
  json_path search_path = data_path.child("marketplaceJobPostingsSearch");
  auto data = detail::require_object(root_object.value(), "data", root_path);
  if (!data) return std::move(data).err();
  auto search = detail::require_object(*data, "marketplaceJobPostingsSearch", data_path);
  if (!search) return std::move(search).err();

  std::optional<error> failure;
  object_reader search_reader(*search, search_path, failure);
  page result_page;
  auto total = search_reader.integer("totalCount");
  if (!total) search_reader.fail("totalCount", "missing or null");
  result_page.total = total.value_or(0);
  json_path page_info_path = search_path.child("pageInfo");
  auto page_info = search_reader.object("pageInfo");
  if (!page_info) search_reader.fail("pageInfo", "missing or null");
  if (page_info) {
    object_reader page_info_reader(*page_info, page_info_path, failure);
    result_page.end_cursor = std::string(page_info_reader.text("endCursor").value_or(""));
    auto has_next = page_info_reader.flag("hasNextPage");
    if (!has_next) page_info_reader.fail("hasNextPage", "missing or null");
    result_page.has_next_page = has_next.value_or(false);
  }
  auto edges = search_reader.array("edges");
  if (!edges) search_reader.fail("edges", "missing or null");
  if (failure) return std::move(*failure);

  json_path edges_path = search_path.child("edges");
  result_page.postings.reserve(edges->size());
  std::size_t index = 0;
  for (simdjson::dom::element edge : *edges) {
    auto job = read_node(edge, edges_path.at(index++));
    if (!job) return std::move(job).err();
    result_page.postings.push_back(std::move(*job));
  }
  return result_page;
}

}  // namespace job_fetcher::upwork
