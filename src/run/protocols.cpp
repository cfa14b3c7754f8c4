// The search protocols of the two Upwork sources, built from settings.
#include <charconv>

#include <fmt/format.h>

#include "core/log.hpp"
#include "run/app.hpp"
#include "upwork/response.hpp"
#include "upwork/visitor.hpp"

namespace job_fetcher::run {

namespace {

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

std::optional<std::int64_t> parse_amount(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0) {
    throw config_error("");
  }
  return value;
}

// Parses "MIN-MAX", "MIN-" or "-MAX" in whole US dollars.
std::optional<upwork::amount_range> parse_range(std::string_view text, std::string_view env) {
  if (text.empty()) return std::nullopt;
  auto dash = text.find('-');
  try {
    if (dash == std::string_view::npos) throw config_error("");
    upwork::amount_range range{parse_amount(text.substr(0, dash)),
                               parse_amount(text.substr(dash + 1))};
    if (!range.min && !range.max) throw config_error("");
    if (range.min && range.max && *range.min > *range.max) throw config_error("");
    return range;
  } catch (const config_error&) {
    throw config_error(fmt::format(
        "invalid {} \"{}\": expected a range of whole dollars MIN-MAX, MIN- or -MAX with MIN "
        "not above MAX, such as 100-500",
        env, text));
  }
}

upwork::visitor_query make_visitor_query(const settings& values) {
  upwork::visitor_query query;
  query.user_query = values.query;
  query.page_size = values.page_size;
  auto& filters = query.filters;
  if (!values.job_type.empty()) filters.job_type = values.job_type;
  filters.contractor_tier = split_list(values.contractor_tier);
  filters.workload = split_list(values.workload);
  filters.duration = split_list(values.duration);
  filters.client_hires = split_list(values.client_hires);
  filters.hourly_rate = parse_range(values.hourly_rate, "JOB_FETCHER_HOURLY_RATE");
  filters.budget = parse_range(values.budget, "JOB_FETCHER_BUDGET");
  if (!values.location.empty()) filters.location = values.location;
  return query;
}

// Adds what only the HTTP layer knows to a classified failure: the URL and Retry-After.
error with_response_context(error failure, const http::response& response, const std::string& url) {
  if (failure.url.empty()) failure.url = http::redact_url(url);
  if (auto value = response.header_value("Retry-After")) {
    failure.retry_after = upwork::parse_retry_after(*value, system_clock_source().now());
  }
  return failure;
}

class visitor_protocol final : public search_protocol {
 public:
  explicit visitor_protocol(const settings& values)
      : query_(make_visitor_query(values)),
        url_(values.visitor_url),
        timeout_(values.request_timeout) {}

  http::request build(const page_cursor& cursor, const secret& token, bool) const override {
    http::request req;
    req.method = "POST";
    req.url = url_;
    req.timeout = timeout_;
    req.headers = {{"Authorization", "Bearer " + token.reveal()},
                   {"Content-Type", "application/json"},
                   {"Accept", "application/json"}};
    req.body = upwork::build_visitor_request(query_, static_cast<int>(cursor.offset), cursor.count);
    return req;
  }

  result<upwork::page> parse(const http::response& response) const override {
    auto content_type = response.header_value("Content-Type").value_or("");
    auto page = upwork::parse_visitor_page(response.status, content_type, response.body);
    if (!page) return with_response_context(std::move(page).err(), response, url_);
    return page;
  }

  const upwork::visitor_query& query() const { return query_; }

 private:
  upwork::visitor_query query_;
  std::string url_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

void validate(const settings& values) {
  if (values.page_size < 1 || values.page_size > upwork::max_visitor_page_size) {
    throw config_error(fmt::format(
        "invalid JOB_FETCHER_PAGE_SIZE / --page-size {}: the page size must be from 1 to {}, the "
        "most Upwork returns per request",
        values.page_size, upwork::max_visitor_page_size));
  }
  if (values.source == "visitor") {
    auto checked = upwork::validate(make_visitor_query(values));
    if (!checked) {
      throw config_error(fmt::format("invalid search settings: {}", checked.err().message));
    }
  }
}

std::unique_ptr<search_protocol> make_search_protocol(const settings& values) {
  return std::make_unique<visitor_protocol>(values);
}

}  // namespace job_fetcher::run
