#include "real_postings.hpp"

#include <algorithm>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "upwork/normalize.hpp"

namespace job_fetcher::store::testing {

namespace {

std::optional<std::string> optional_string(const nlohmann::json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end() || it->is_null()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::string> optional_decimal(const nlohmann::json& row, const char* key) {
  auto text = optional_string(row, key);
  if (!text) return std::nullopt;
  auto decimal = upwork::parse_decimal(*text);
  if (!decimal) throw std::runtime_error("invalid decimal in test data: " + *text);
  return decimal;
}

upwork::posting to_posting(const nlohmann::json& row, std::size_t index) {
  // Synthetic publish times step back 37.123 s per posting from a fixed instant, so they are
  // distinct, newest first, and carry milliseconds.
  const timestamp newest = *parse_timestamp("2025-06-15T18:59:18.224Z");
  const auto step = std::chrono::milliseconds(37'123);

  upwork::posting p;
  p.id = row.at("id").get<std::string>();
  p.ciphertext = row.at("ciphertext").get<std::string>();
  p.link = upwork::job_link(p.ciphertext);
  p.title = upwork::clean_text(row.at("title").get<std::string>());
  p.description = upwork::clean_text(row.at("description").get<std::string>());
  for (const auto& skill : row.at("skills")) upwork::add_skill(p.skills, skill.get<std::string>());
  p.job_type = upwork::normalize_job_type(row.at("job_type").get<std::string>());
  p.hourly_min = optional_decimal(row, "hourly_min");
  p.hourly_max = optional_decimal(row, "hourly_max");
  p.fixed_budget = optional_decimal(row, "fixed_amount");
  p.currency = upwork::normalize_currency(optional_string(row, "currency").value_or("")).value();
  if (auto tier = optional_string(row, "contractor_tier")) {
    p.contractor_tier = upwork::normalize_contractor_tier(*tier);
  }
  p.duration_label = optional_string(row, "duration_label");
  p.workload = optional_string(row, "workload");
  p.client_country = optional_string(row, "client_country");

  auto published = optional_string(row, "published_at");
  p.published_at =
      published ? parse_timestamp(*published).value() : newest - step * static_cast<long>(index);
  if (index % 2 == 0) p.created_at = p.published_at - std::chrono::minutes(3);
  p.source = "visitor";
  upwork::drop_zero_amounts_of_other_type(p);
  p.content_hash = upwork::content_hash(p);
  return p;
}

std::vector<upwork::posting> load_postings(std::size_t count) {
  std::ifstream file(JOB_FETCHER_DATA_DIR "/upwork/postings.jsonl");
  if (!file) throw std::runtime_error("cannot read " JOB_FETCHER_DATA_DIR "/upwork/postings.jsonl");

  std::vector<upwork::posting> postings;
  std::string line;
  while (postings.size() < count && std::getline(file, line)) {
    if (line.empty()) continue;
    postings.push_back(to_posting(nlohmann::json::parse(line), postings.size()));
  }
  if (postings.size() < count) throw std::runtime_error("not enough postings in the test data");
  return postings;
}

}  // namespace

std::vector<upwork::posting> real_postings(std::size_t count) {
  // Normalizing is slow in a Debug build, so every test shares one parsed prefix of the file.
  static std::mutex mutex;
  static std::vector<upwork::posting> loaded;
  std::lock_guard lock(mutex);
  if (loaded.size() < count) loaded = load_postings(std::max<std::size_t>(count, 200));
  return {loaded.begin(), loaded.begin() + static_cast<long>(count)};
}

void rehash(upwork::posting& posting) { posting.content_hash = upwork::content_hash(posting); }

}  // namespace job_fetcher::store::testing
