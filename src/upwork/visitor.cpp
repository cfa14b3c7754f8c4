#include "upwork/visitor.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "upwork/json_reader.hpp"
#include "upwork/normalize.hpp"

namespace job_fetcher::upwork {

namespace {

using detail::json_path;
using detail::object_reader;

// The fixed visitor field set. Gated fields (totalApplicants, premium, client history) abort
// the whole query for a visitor token, so none of them may be added here.
constexpr std::string_view visitor_query_text =
    "query VisitorJobSearch($requestVariables: VisitorJobSearchV1Request!) {"
    " search { universalSearchNuxt { visitorJobSearchV1(request: $requestVariables) {"
    " paging { total offset count }"
    " results { id title description ontologySkills { prefLabel }"
    " jobTile { job { id ciphertext: cipherText jobType hourlyBudgetMin hourlyBudgetMax"
    " hourlyEngagementType contractorTier publishTime createTime"
    " fixedPriceAmount { isoCurrencyCode amount }"
    " hourlyEngagementDuration { label weeks }"
    " fixedPriceEngagementDuration { label weeks } } } } } } } }";

constexpr std::string_view scope_fix =
    "keep to the fixed visitor field set and use a visitor_gql_token from the home page (the "
    "older UniversalSearchNuxt_vt token rejects fields such as ciphertext)";

constexpr std::array<std::string_view, 3> contractor_tiers = {"EntryLevel", "IntermediateLevel",
                                                              "ExpertLevel"};
constexpr std::array<std::string_view, 3> workloads = {"as_needed", "part_time", "full_time"};
constexpr std::array<std::string_view, 4> durations = {"week", "month", "semester", "ongoing"};
constexpr std::array<std::string_view, 3> client_hire_ranges = {"0", "1-9", "10-"};

error config_failure(std::string message) {
  return make_error(error_class::config, std::move(message));
}

template <std::size_t N>
result<void> check_values(std::string_view setting, const std::vector<std::string>& values,
                          const std::array<std::string_view, N>& allowed) {
  for (const auto& value : values) {
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      return config_failure(fmt::format("invalid {} \"{}\"; use one of: {}", setting,
                                        clean_text(value), fmt::join(allowed, ", ")));
    }
  }
  return {};
}

result<void> check_range(std::string_view setting, const std::optional<amount_range>& range) {
  if (!range) return {};
  if ((range->min && *range->min < 0) || (range->max && *range->max < 0)) {
    return config_failure(fmt::format("invalid {}: bounds must not be negative", setting));
  }
  if (range->min && range->max && *range->min > *range->max) {
    return config_failure(
        fmt::format("invalid {}: min {} is greater than max {}", setting, *range->min, *range->max));
  }
  return {};
}

std::size_t count_code_points(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

result<void> validate_filters(const search_filters& filters) {
  if (filters.job_type && *filters.job_type != "hourly" && *filters.job_type != "fixed") {
    return config_failure(fmt::format("invalid filters.job_type \"{}\"; use hourly or fixed",
                                      clean_text(*filters.job_type)));
  }
  if (auto checked = check_values("filters.contractor_tier", filters.contractor_tier,
                                  contractor_tiers);
      !checked) {
    return checked;
  }
  if (auto checked = check_values("filters.workload", filters.workload, workloads); !checked) {
    return checked;
  }
  if (auto checked = check_values("filters.duration", filters.duration, durations); !checked) {
    return checked;
  }
  if (auto checked = check_values("filters.client_hires", filters.client_hires,
                                  client_hire_ranges);
      !checked) {
    return checked;
  }
  if (filters.hourly_rate && filters.job_type != "hourly") {
    return config_failure("filters.hourly_rate needs filters.job_type hourly; set it or remove "
                          "the hourly rate");
  }
  if (filters.budget && filters.job_type != "fixed") {
    return config_failure("filters.budget needs filters.job_type fixed; set it or remove the "
                          "budget");
  }
  if (auto checked = check_range("filters.hourly_rate", filters.hourly_rate); !checked) {
    return checked;
  }
  if (auto checked = check_range("filters.budget", filters.budget); !checked) return checked;
  if (filters.location && (filters.location->empty() || !is_valid_utf8(*filters.location))) {
    return config_failure("invalid filters.location; use a full country name such as "
                          "\"United States\"");
  }
  return {};
}

nlohmann::json range_json(const amount_range& range) {
  nlohmann::json value = nlohmann::json::object();
  if (range.min) value["min"] = *range.min;
  if (range.max) value["max"] = *range.max;
  return value;
}

void add_filters(const search_filters& filters, nlohmann::json& variables) {
  if (filters.job_type) variables["jobType"] = nlohmann::json::array({*filters.job_type});
  if (!filters.contractor_tier.empty()) variables["contractorTier"] = filters.contractor_tier;
  if (!filters.workload.empty()) variables["workload"] = filters.workload;
  if (!filters.duration.empty()) variables["durationV3"] = filters.duration;
  if (!filters.client_hires.empty()) variables["clientHires"] = filters.client_hires;
  if (filters.hourly_rate) variables["hourlyRate"] = range_json(*filters.hourly_rate);
  if (filters.budget) variables["budget"] = range_json(*filters.budget);
  if (filters.location) variables["location"] = nlohmann::json::array({*filters.location});
}

// Reads ontologySkills[].prefLabel; entries without a label are skipped.
void read_skills(object_reader& result_reader, std::vector<std::string>& skills) {
  auto entries = result_reader.array("ontologySkills");
  if (!entries) return;
  json_path skills_path = result_reader.path().child("ontologySkills");
  std::optional<error>& failure = *result_reader.failure_slot();
  std::size_t index = 0;
  for (simdjson::dom::element entry : *entries) {
    json_path entry_path = skills_path.at(index++);
    auto entry_object = entry.get_object();
    if (entry_object.error()) {
      if (!failure) failure = detail::bad_response_at(entry_path, "expected an object");
      return;
    }
    object_reader skill_reader(entry_object.value(), entry_path, failure);
    if (auto label = skill_reader.text("prefLabel")) add_skill(skills, clean_text(*label));
  }
}

// Reads the duration label of the posting's own job type first, then of the other one.
std::optional<std::string> read_duration_label(object_reader& job_reader, bool fixed) {
  std::array<std::string_view, 2> keys = {"hourlyEngagementDuration",
                                          "fixedPriceEngagementDuration"};
  if (fixed) std::swap(keys[0], keys[1]);
  for (std::string_view key : keys) {
    auto duration = job_reader.object(key);
    if (!duration) continue;
    json_path duration_path = job_reader.path().child(key);
    object_reader duration_reader(*duration, duration_path, *job_reader.failure_slot());
    if (auto label = duration_reader.text("label")) return std::string(*label);
  }
  return std::nullopt;
}

void read_job_tile_job(object_reader& job_reader, posting& job) {
  std::string_view ciphertext = job_reader.required_text("ciphertext");
  job.ciphertext.assign(ciphertext);
  job.link = job_link(job.ciphertext);

  if (auto type = job_reader.text("jobType")) job.job_type = normalize_job_type(*type);
  job.hourly_min = job_reader.decimal("hourlyBudgetMin");
  job.hourly_max = job_reader.decimal("hourlyBudgetMax");
  if (auto fixed_price = job_reader.object("fixedPriceAmount")) {
    json_path fixed_path = job_reader.path().child("fixedPriceAmount");
    object_reader fixed_reader(*fixed_price, fixed_path, *job_reader.failure_slot());
    job.fixed_budget = fixed_reader.decimal("amount");
    auto currency = normalize_currency(fixed_reader.text("isoCurrencyCode").value_or(""));
    if (currency) {
      job.currency = std::move(*currency);
    } else {
      fixed_reader.fail("isoCurrencyCode", "expected a three-letter ISO 4217 code");
    }
  }
  if (auto tier = job_reader.scalar_text("contractorTier")) {
    job.contractor_tier = normalize_contractor_tier(*tier);
  }
  if (auto engagement = job_reader.text("hourlyEngagementType")) job.workload = std::string(*engagement);
  job.duration_label = read_duration_label(job_reader, job.job_type == "fixed");

  auto published = job_reader.time("publishTime");
  job.created_at = job_reader.time("createTime");
  if (published) {
    job.published_at = *published;
  } else if (job.created_at) {
    job.published_at = *job.created_at;
  } else {
    job_reader.fail("publishTime", "missing or null, and so is createTime");
  }
}

result<posting> read_posting(simdjson::dom::element item, const json_path& path) {
  auto item_object = item.get_object();
  if (item_object.error()) return detail::bad_response_at(path, "expected an object");

  std::optional<error> failure;
  object_reader result_reader(item_object.value(), path, failure);
  posting job;
  job.source = visitor_source_name;

  std::string_view id = result_reader.required_text("id");
  if (!std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    result_reader.fail("id", "expected a numeric job id");
  }
  job.id.assign(id);
  job.title = clean_text(result_reader.required_text("title"));
  if (auto description = result_reader.text("description")) job.description = clean_text(*description);
  read_skills(result_reader, job.skills);

  json_path tile_path = path.child("jobTile");
  auto tile = result_reader.object("jobTile");
  if (!tile) result_reader.fail("jobTile", "missing or null");
  if (tile) {
    object_reader tile_reader(*tile, tile_path, failure);
    json_path job_path = tile_path.child("job");
    auto job_object = tile_reader.object("job");
    if (!job_object) tile_reader.fail("job", "missing or null");
    if (job_object) {
      object_reader job_reader(*job_object, job_path, failure);
      read_job_tile_job(job_reader, job);
    }
  }
  if (failure) return std::move(*failure);

  drop_zero_amounts_of_other_type(job);
  job.content_hash = content_hash(job);
  return job;
}

}  // namespace

result<void> validate(const visitor_query& query) {
  if (query.page_size < 1 || query.page_size > max_visitor_page_size) {
    return config_failure(fmt::format("invalid page_size {}; use 1 to {}", query.page_size,
                                      max_visitor_page_size));
  }
  if (!is_valid_utf8(query.user_query)) {
    return config_failure("invalid user_query: not valid UTF-8; fix the text encoding");
  }
  std::size_t characters = count_code_points(query.user_query);
  if (characters > max_visitor_query_characters) {
    return config_failure(fmt::format("invalid user_query: {} characters, Upwork accepts at most "
                                      "{}; shorten it",
                                      characters, max_visitor_query_characters));
  }
  return validate_filters(query.filters);
}

std::string build_visitor_request(const visitor_query& query, int offset, int count) {
  offset = std::clamp(offset, 0, max_visitor_results - 1);
  count = std::clamp(count, 1, std::min(max_visitor_page_size, max_visitor_results - offset));

  nlohmann::json variables = {
      {"sort", "recency"},
      {"highlight", false},
      {"paging", {{"offset", offset}, {"count", count}}},
  };
  if (!query.user_query.empty()) variables["userQuery"] = query.user_query;
  add_filters(query.filters, variables);

  nlohmann::json body = {
      {"query", visitor_query_text},
      {"variables", {{"requestVariables", std::move(variables)}}},
  };
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

result<page> parse_visitor_page(int http_status, std::string_view content_type,
                                std::string_view body) {
  auto root = detail::open_graphql_response(http_status, content_type, body, scope_fix);
  if (!root) return std::move(root).err();

  json_path root_path;
  auto root_object = root->get_object();
  if (root_object.error()) return detail::bad_response_at(root_path, "expected an object");

  json_path data_path = root_path.child("data");
  json_path search_path = data_path.child("search");
  json_path nuxt_path = search_path.child("universalSearchNuxt");
  json_path visitor_path = nuxt_path.child("visitorJobSearchV1");
  auto data = detail::require_object(root_object.value(), "data", root_path);
  if (!data) return std::move(data).err();
  auto search = detail::require_object(*data, "search", data_path);
  if (!search) return std::move(search).err();
  auto nuxt = detail::require_object(*search, "universalSearchNuxt", search_path);
  if (!nuxt) return std::move(nuxt).err();
  auto visitor = detail::require_object(*nuxt, "visitorJobSearchV1", nuxt_path);
  if (!visitor) return std::move(visitor).err();

  std::optional<error> failure;
  object_reader visitor_reader(*visitor, visitor_path, failure);
  page result_page;
  json_path paging_path = visitor_path.child("paging");
  auto paging = visitor_reader.object("paging");
  if (!paging) visitor_reader.fail("paging", "missing or null");
  if (paging) {
    object_reader paging_reader(*paging, paging_path, failure);
    auto total = paging_reader.integer("total");
    if (!total) paging_reader.fail("total", "missing or null");
    result_page.total = total.value_or(0);
    result_page.offset = paging_reader.integer("offset").value_or(0);
  }
  auto results = visitor_reader.array("results");
  if (!results) visitor_reader.fail("results", "missing or null");
  if (failure) return std::move(*failure);

  json_path results_path = visitor_path.child("results");
  result_page.postings.reserve(results->size());
  std::size_t index = 0;
  for (simdjson::dom::element item : *results) {
    auto job = read_posting(item, results_path.at(index++));
    if (!job) return std::move(job).err();
    result_page.postings.push_back(std::move(*job));
  }

  auto served = static_cast<std::int64_t>(result_page.postings.size());
  result_page.has_next_page = served > 0 && result_page.offset + served < result_page.total;
  return result_page;
}

}  // namespace job_fetcher::upwork
