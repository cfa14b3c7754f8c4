// The search protocols of the two Upwork sources, built from settings.
#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "core/log.hpp"
#include "run/app.hpp"
#include "upwork/marketplace.hpp"
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

// Adds the URL and Retry-After, which only the HTTP layer has, to a classified failure.
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

// Counts UTF-8 code points: every byte that is not a continuation byte starts one.
std::size_t count_characters(std::string_view text) {
  std::size_t count = 0;
  for (unsigned char byte : text) {
    if ((byte & 0xC0U) != 0x80U) ++count;
  }
  return count;
}

// Maps a contractor tier in either spelling (EntryLevel or entry) to the marketplace's level.
std::optional<std::string> experience_level(std::string_view tier) {
  if (tier == "EntryLevel" || tier == "entry") return "entry";
  if (tier == "IntermediateLevel" || tier == "intermediate") return "intermediate";
  if (tier == "ExpertLevel" || tier == "expert") return "expert";
  return std::nullopt;
}

upwork::marketplace_query make_marketplace_query(const settings& values) {
  upwork::marketplace_query query;
  query.search_expression = values.query;
  query.page_size = values.page_size;
  if (!values.job_type.empty()) query.job_type = values.job_type;

  auto tiers = split_list(values.contractor_tier);
  if (tiers.size() > 1) {
    throw config_error(fmt::format(
        "invalid filters.contractor_tier \"{}\": the marketplace source filters on one tier "
        "(experienceLevel_eq); keep one of EntryLevel, IntermediateLevel, ExpertLevel",
        values.contractor_tier));
  }
  if (tiers.size() == 1) {
    query.experience_level = experience_level(tiers.front());
    if (!query.experience_level) {
      throw config_error(fmt::format(
          "invalid filters.contractor_tier \"{}\"; use one of: EntryLevel, IntermediateLevel, "
          "ExpertLevel",
          tiers.front()));
    }
  }
  query.locations = split_list(values.location);
  return query;
}

// Rejects the visitor filters that marketPlaceJobFilter has no member for.
void reject_visitor_only_filters(const settings& values) {
  const std::pair<const char*, const std::string*> visitor_only[] = {
      {"workload (JOB_FETCHER_WORKLOAD)", &values.workload},
      {"duration (JOB_FETCHER_DURATION)", &values.duration},
      {"client_hires (JOB_FETCHER_CLIENT_HIRES)", &values.client_hires},
      {"hourly_rate (JOB_FETCHER_HOURLY_RATE)", &values.hourly_rate},
      {"budget (JOB_FETCHER_BUDGET)", &values.budget},
  };
  for (const auto& [name, value] : visitor_only) {
    if (value->empty()) continue;
    throw config_error(fmt::format(
        "invalid filters.{}: the marketplace source has no such filter; remove it or use the "
        "visitor source",
        name));
  }
}

void validate_marketplace(const settings& values) {
  reject_visitor_only_filters(values);
  auto checked = upwork::validate(make_marketplace_query(values));
  if (!checked) {
    throw config_error(fmt::format("invalid search settings: {}", checked.err().message));
  }
  std::size_t characters = count_characters(values.query);
  if (characters > upwork::max_visitor_query_characters) {
    throw config_error(fmt::format(
        "invalid query (JOB_FETCHER_QUERY): {} characters, Upwork accepts at most {}; shorten it",
        characters, upwork::max_visitor_query_characters));
  }

  // The built-in OAuth2 minting needs the app key; a static token or an authenticator does not.
  bool token_elsewhere = !values.upwork_token.empty() || !values.authorizer_url.empty() ||
                         !values.authenticator_function.empty();
  if (token_elsewhere) return;
  if (values.client_id.empty() || values.client_secret.empty()) {
    throw config_error(
        "the marketplace source needs an OAuth2 app key: set UPWORK_CLIENT_ID and "
        "UPWORK_CLIENT_SECRET (and UPWORK_REFRESH_TOKEN for a user-authorized key), or provide "
        "tokens through UPWORK_TOKEN, AUTHORIZER_URL or AUTHENTICATOR_FUNCTION");
  }
}

class marketplace_protocol final : public search_protocol {
 public:
  explicit marketplace_protocol(const settings& values)
      : query_(make_marketplace_query(values)),
        url_(values.marketplace_url),
        tenant_id_(values.tenant_id),
        timeout_(values.request_timeout) {}

  http::request build(const page_cursor& cursor, const secret& token,
                      bool inline_pagination) const override {
    http::request req;
    req.method = "POST";
    req.url = url_;
    req.timeout = timeout_;
    req.headers = {{"Authorization", "Bearer " + token.reveal()},
                   {"Content-Type", "application/json"},
                   {"Accept", "application/json"}};
    if (!tenant_id_.empty()) req.headers.push_back({"X-Upwork-API-TenantId", tenant_id_});
    auto page_query = query_;
    page_query.page_size = cursor.count;
    req.body = upwork::build_marketplace_request(page_query, cursor.after, inline_pagination);
    return req;
  }

  result<upwork::page> parse(const http::response& response) const override {
    auto content_type = response.header_value("Content-Type").value_or("");
    auto page = upwork::parse_marketplace_page(response.status, content_type, response.body);
    if (!page) return with_response_context(std::move(page).err(), response, url_);
    return page;
  }

  // The API has returned HTTP 500 "Exception occurred" when pagination_eq came through
  // variables; the same request with the values inlined in the query text succeeds.
  bool wants_inline_retry(const error& failure) const override {
    return failure.http_status == 500;
  }

 private:
  upwork::marketplace_query query_;
  std::string url_;
  std::string tenant_id_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

void validate(const settings& values) {
  bool name_ok = !values.feed.empty() && values.feed.size() <= 64 &&
                 std::all_of(values.feed.begin(), values.feed.end(), [](char c) {
                   return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                          c == '.';
                 });
  if (!name_ok) {
    throw config_error(fmt::format(
        "invalid JOB_FETCHER_FEED / --feed \"{}\": a feed name is 1 to 64 letters, digits, '-', "
        "'_' or '.'",
        values.feed.substr(0, 80)));
  }
  if (values.deadline <= values.safety_margin) {
    throw config_error(fmt::format(
        "invalid JOB_FETCHER_DEADLINE / --deadline {}: it must be longer than "
        "JOB_FETCHER_SAFETY_MARGIN ({}), or no page can be fetched",
        format_duration(values.deadline), format_duration(values.safety_margin)));
  }
  if (values.lease.count() <= 0 || values.request_timeout.count() <= 0) {
    throw config_error(
        "invalid JOB_FETCHER_LEASE or JOB_FETCHER_REQUEST_TIMEOUT: both must be longer than 0");
  }
  if (values.page_size < 1 || values.page_size > upwork::max_visitor_page_size) {
    throw config_error(fmt::format(
        "invalid JOB_FETCHER_PAGE_SIZE / --page-size {}: the page size must be from 1 to {}, the "
        "most Upwork returns per request",
        values.page_size, upwork::max_visitor_page_size));
  }
  // A first run that cannot reach its backfill within max_pages ends partial without a
  // watermark, so every later run would be a first run that reads the same pages again.
  if (static_cast<std::int64_t>(values.backfill) >
      static_cast<std::int64_t>(values.page_size) * values.max_pages) {
    throw config_error(fmt::format(
        "invalid JOB_FETCHER_BACKFILL / --backfill {}: the first run reads at most "
        "JOB_FETCHER_MAX_PAGES × JOB_FETCHER_PAGE_SIZE = {} × {} = {} postings; lower the "
        "backfill or raise one of the two",
        values.backfill, values.max_pages, values.page_size,
        static_cast<std::int64_t>(values.page_size) * values.max_pages));
  }
  if (values.source == "visitor") {
    auto checked = upwork::validate(make_visitor_query(values));
    if (!checked) {
      throw config_error(fmt::format("invalid search settings: {}", checked.err().message));
    }
  } else if (values.source == "marketplace") {
    validate_marketplace(values);
  } else {
    throw config_error(fmt::format("invalid source \"{}\"; use visitor or marketplace",
                                   values.source));
  }
}

std::unique_ptr<search_protocol> make_search_protocol(const settings& values) {
  if (values.source == "marketplace") return std::make_unique<marketplace_protocol>(values);
  return std::make_unique<visitor_protocol>(values);
}

}  // namespace job_fetcher::run
