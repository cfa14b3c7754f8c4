#include "posting_data.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace job_fetcher::upwork_sim {
namespace {

using ordered_json = nlohmann::ordered_json;

std::optional<std::string> optional_string(const nlohmann::json& record, const char* key) {
  auto found = record.find(key);
  if (found == record.end() || !found->is_string()) {
    return std::nullopt;
  }
  return found->get<std::string>();
}

std::string required_string(const nlohmann::json& record, const char* key,
                            const std::string& where) {
  auto value = optional_string(record, key);
  if (!value || value->empty()) {
    throw std::runtime_error(fmt::format("{}: missing string field \"{}\"", where, key));
  }
  return *value;
}

source_posting parse_posting(const std::string& line, const std::string& where) {
  auto record = nlohmann::json::parse(line);
  source_posting posting;
  posting.id = required_string(record, "id", where);
  posting.ciphertext = required_string(record, "ciphertext", where);
  posting.title = required_string(record, "title", where);
  posting.description = required_string(record, "description", where);
  if (auto skills = record.find("skills"); skills != record.end() && skills->is_array()) {
    for (const auto& skill : *skills) {
      if (skill.is_string()) {
        posting.skills.push_back(skill.get<std::string>());
      }
    }
  }
  posting.job_type = optional_string(record, "job_type").value_or("");
  posting.hourly_min = optional_string(record, "hourly_min");
  posting.hourly_max = optional_string(record, "hourly_max");
  posting.fixed_amount = optional_string(record, "fixed_amount");
  posting.currency = optional_string(record, "currency").value_or("USD");
  posting.contractor_tier = optional_string(record, "contractor_tier");
  posting.duration_label = optional_string(record, "duration_label");
  posting.workload = optional_string(record, "workload");
  posting.client_country = optional_string(record, "client_country");

  std::string text = posting.title + "\n" + posting.description;
  for (const auto& skill : posting.skills) {
    text += "\n" + skill;
  }
  posting.search_text = ascii_lower(text);
  posting.raw_line = line;
  return posting;
}

// Wraps every case-insensitive occurrence of a term as H^text^H, the longest term first where
// two terms start at the same byte. Terms are valid UTF-8 and matched byte for byte, so a
// marker never splits a multi-byte character.
std::string highlight(const std::string& text, const std::vector<std::string>& terms) {
  if (terms.empty()) {
    return text;
  }
  const std::string lower = ascii_lower(text);
  std::string out;
  out.reserve(text.size() + 16);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t matched = 0;
    for (const auto& term : terms) {
      if (term.size() > matched && lower.compare(pos, term.size(), term) == 0) {
        matched = term.size();
      }
    }
    if (matched == 0) {
      out.push_back(text[pos]);
      ++pos;
      continue;
    }
    out += "H^";
    out.append(text, pos, matched);
    out += "^H";
    pos += matched;
  }
  return out;
}

// Week counts Upwork attaches to its duration labels.
std::optional<int> duration_weeks(const std::string& label) {
  if (label == "Less than 1 month") return 4;
  if (label == "1 to 3 months") return 12;
  if (label == "3 to 6 months") return 24;
  if (label == "More than 6 months") return 52;
  return std::nullopt;
}

// NOTE: only WEEK ("Less than 1 month") is confirmed by a captured marketplace response; the
// other values follow the same enum naming.
std::optional<std::string> marketplace_duration(const std::string& label) {
  if (label == "Less than 1 month") return "WEEK";
  if (label == "1 to 3 months") return "MONTH";
  if (label == "3 to 6 months") return "QUARTER";
  if (label == "More than 6 months") return "SEMESTER";
  return std::nullopt;
}

std::optional<std::string> experience_level(const std::optional<std::string>& tier) {
  if (!tier) return std::nullopt;
  if (*tier == "EntryLevel") return "ENTRY_LEVEL";
  if (*tier == "IntermediateLevel") return "INTERMEDIATE";
  if (*tier == "ExpertLevel") return "EXPERT";
  return std::nullopt;
}

ordered_json string_or_null(const std::optional<std::string>& value) {
  return value ? ordered_json(*value) : ordered_json(nullptr);
}

ordered_json engagement_duration(const std::optional<std::string>& label) {
  if (!label) {
    return nullptr;
  }
  auto weeks = duration_weeks(*label);
  return ordered_json{{"label", *label},
                      {"weeks", weeks ? ordered_json(*weeks) : ordered_json(nullptr)}};
}

ordered_json money(const std::string& value, const std::string& currency) {
  return ordered_json{{"rawValue", value}, {"currency", currency}, {"displayValue", value}};
}

ordered_json optional_money(const std::optional<std::string>& value,
                            const std::string& currency) {
  return value ? money(*value, currency) : ordered_json(nullptr);
}

std::string skill_name(const std::string& pretty_name) {
  std::string name = ascii_lower(pretty_name);
  std::replace(name.begin(), name.end(), ' ', '-');
  return name;
}

std::string dump(const ordered_json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::vector<source_posting> load_postings(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error(fmt::format("cannot open data file {}", path));
  }
  std::vector<source_posting> postings;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    const std::string where = fmt::format("{}:{}", path, line_number);
    try {
      postings.push_back(parse_posting(line, where));
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(fmt::format("{}: invalid JSON: {}", where, e.what()));
    }
  }
  return postings;
}

std::string format_visitor_time(sim_time at) {
  const auto day = std::chrono::floor<std::chrono::days>(at);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss time{at - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count(),
                     time.subseconds().count());
}

std::string format_marketplace_time(sim_time at) {
  const auto day = std::chrono::floor<std::chrono::days>(at);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss time{std::chrono::floor<std::chrono::seconds>(at - day)};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+0000", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count());
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string render_visitor_result(const source_posting& posting, const publication_times& times,
                                  const std::vector<std::string>& highlight_terms) {
  const bool hourly = posting.job_type == "HOURLY";
  const bool fixed = posting.job_type == "FIXED";

  ordered_json skills = ordered_json::array();
  for (const auto& skill : posting.skills) {
    skills.push_back({{"prefLabel", highlight(skill, highlight_terms)}});
  }

  // Upwork sends "0.0" as the fixed amount of hourly postings.
  ordered_json fixed_price = ordered_json{
      {"isoCurrencyCode", posting.currency},
      {"amount", fixed ? posting.fixed_amount.value_or("0.0") : std::string("0.0")}};

  ordered_json job{
      {"id", posting.id},
      {"ciphertext", posting.ciphertext},
      {"jobType", posting.job_type.empty() ? ordered_json(nullptr) : ordered_json(posting.job_type)},
      {"hourlyBudgetMin", string_or_null(posting.hourly_min)},
      {"hourlyBudgetMax", string_or_null(posting.hourly_max)},
      {"fixedPriceAmount", fixed_price},
      {"contractorTier", string_or_null(posting.contractor_tier)},
      {"hourlyEngagementType", string_or_null(posting.workload)},
      {"publishTime", format_visitor_time(times.publish_time)},
      {"createTime", format_visitor_time(times.create_time)},
      {"hourlyEngagementDuration",
       hourly ? engagement_duration(posting.duration_label) : ordered_json(nullptr)},
      {"fixedPriceEngagementDuration",
       fixed ? engagement_duration(posting.duration_label) : ordered_json(nullptr)},
  };

  ordered_json result{
      {"id", posting.id},
      {"title", highlight(posting.title, highlight_terms)},
      {"description", highlight(posting.description, highlight_terms)},
      {"ontologySkills", std::move(skills)},
      {"jobTile", {{"job", std::move(job)}}},
  };
  return dump(result);
}

std::string render_marketplace_node(const source_posting& posting,
                                    const publication_times& times) {
  const bool fixed = posting.job_type == "FIXED";

  ordered_json skills = ordered_json::array();
  for (const auto& skill : posting.skills) {
    skills.push_back({{"name", skill_name(skill)}, {"prettyName", skill}});
  }

  std::optional<std::string> duration;
  if (posting.duration_label) {
    duration = marketplace_duration(*posting.duration_label);
  }

  ordered_json client{
      {"location", {{"country", string_or_null(posting.client_country)}}},
  };

  // The marketplace API reports "0.0" as the amount of hourly postings.
  ordered_json node{
      {"id", posting.id},
      {"ciphertext", posting.ciphertext},
      {"title", posting.title},
      {"description", posting.description},
      {"publishedDateTime", format_marketplace_time(times.publish_time)},
      {"createdDateTime", format_marketplace_time(times.create_time)},
      {"amount", money(fixed ? posting.fixed_amount.value_or("0.0") : std::string("0.0"),
                       posting.currency)},
      {"hourlyBudgetMin", optional_money(posting.hourly_min, posting.currency)},
      {"hourlyBudgetMax", optional_money(posting.hourly_max, posting.currency)},
      {"skills", std::move(skills)},
      {"experienceLevel", string_or_null(experience_level(posting.contractor_tier))},
      {"duration", string_or_null(duration)},
      {"durationLabel", string_or_null(posting.duration_label)},
      {"engagement", string_or_null(posting.workload)},
      {"client", std::move(client)},
  };
  return dump(node);
}

}  // namespace job_fetcher::upwork_sim
