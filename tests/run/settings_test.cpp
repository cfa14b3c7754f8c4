#include "run/settings.hpp"

#include <set>

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace job_fetcher::run {
namespace {

using env_map = std::map<std::string, std::string>;

settings load(const env_map& env, const std::map<std::string, std::string>& flags = {}) {
  return load_settings(
      [&](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
      },
      flags);
}

std::string config_message(const env_map& env, const std::map<std::string, std::string>& flags = {}) {
  try {
    auto values = load(env, flags);
    validate(values);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

TEST(settings, defaults_use_embedded_sqlite_and_real_upwork) {
  auto values = load({});
  EXPECT_EQ(values.store.url, "sqlite:./job-fetcher.db");
  EXPECT_EQ(values.visitor_url, "https://www.upwork.com/api/graphql/v1?alias=visitorJobSearch");
  EXPECT_EQ(values.home_url, "https://www.upwork.com/");
  EXPECT_EQ(values.page_size, 50);
  EXPECT_EQ(values.backfill, 500);
  EXPECT_EQ(values.skew, std::chrono::minutes{2});
}

TEST(settings, flags_override_environment) {
  auto values = load({{"JOB_FETCHER_MAX_PAGES", "7"}}, {{"max-pages", "3"}});
  EXPECT_EQ(values.max_pages, 3);
}

TEST(settings, postgrest_url_selects_postgrest_when_store_unset) {
  auto values = load({{"POSTGREST_URL", "http://127.0.0.1:3000"}});
  EXPECT_TRUE(values.store.url.empty());
  EXPECT_EQ(values.store.postgrest_url, "http://127.0.0.1:3000");
}

TEST(settings, postgrest_token_wins_over_anon_key) {
  auto values = load({{"SUPABASE_CLIENT_ANON_KEY", "anon"}, {"POSTGREST_TOKEN", "jwt"}});
  EXPECT_EQ(values.store.postgrest_key.reveal(), "jwt");
}

TEST(settings, invalid_integer_names_setting_and_range) {
  std::string message = config_message({{"JOB_FETCHER_MAX_PAGES", "lots"}});
  EXPECT_NE(message.find("JOB_FETCHER_MAX_PAGES"), std::string::npos);
  EXPECT_NE(message.find("\"lots\""), std::string::npos);
  EXPECT_NE(message.find("1 to 1000"), std::string::npos);
}

TEST(settings, invalid_secret_value_is_not_echoed) {
  // Secrets accept any text, so a bad one cannot fail; a bad URL next to them must not leak them.
  std::string message = config_message({{"UPWORK_TOKEN", "oauth2v2_hidden"}, {"AUTHORIZER_URL", "ftp://x"}});
  EXPECT_NE(message.find("AUTHORIZER_URL"), std::string::npos);
  EXPECT_EQ(message.find("oauth2v2_hidden"), std::string::npos);
}

TEST(settings, page_size_over_fifty_is_rejected) {
  std::string message = config_message({}, {{"page-size", "80"}});
  EXPECT_NE(message.find("page size"), std::string::npos) << message;
  EXPECT_NE(message.find("80"), std::string::npos) << message;
}

TEST(settings, query_over_500_characters_is_rejected) {
  std::string message = config_message({{"JOB_FETCHER_QUERY", std::string(600, 'a')}});
  EXPECT_NE(message.find("500"), std::string::npos) << message;
}

TEST(settings, budget_without_fixed_job_type_is_rejected) {
  std::string message = config_message({{"JOB_FETCHER_BUDGET", "100-500"}});
  EXPECT_NE(message.find("budget"), std::string::npos) << message;
  EXPECT_NE(message.find("fixed"), std::string::npos) << message;
}

TEST(settings, hourly_rate_with_fixed_job_type_is_rejected) {
  std::string message = config_message({{"JOB_FETCHER_HOURLY_RATE", "20-40"}, {"JOB_FETCHER_JOB_TYPE", "fixed"}});
  EXPECT_NE(message.find("hourly"), std::string::npos) << message;
}

TEST(settings, unknown_source_lists_valid_values) {
  std::string message = config_message({{"UPWORK_SOURCE", "rss"}});
  EXPECT_NE(message.find("visitor, marketplace"), std::string::npos) << message;
}

TEST(parse_duration, reads_every_unit) {
  EXPECT_EQ(parse_duration("500ms"), std::chrono::milliseconds{500});
  EXPECT_EQ(parse_duration("30s"), std::chrono::seconds{30});
  EXPECT_EQ(parse_duration("2m"), std::chrono::minutes{2});
  EXPECT_EQ(parse_duration("24h"), std::chrono::hours{24});
  EXPECT_EQ(parse_duration("1d"), std::chrono::hours{24});
}

TEST(parse_duration, rejects_missing_or_unknown_units) {
  for (std::string_view bad : {"", "5", "m", "5 m", "5min", "-5s", "1.5s"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(format_duration, picks_the_largest_exact_unit) {
  EXPECT_EQ(format_duration(std::chrono::minutes{2}), "2m");
  EXPECT_EQ(format_duration(std::chrono::milliseconds{1500}), "1500ms");
  EXPECT_EQ(format_duration(std::chrono::hours{48}), "2d");
}

TEST(setting_specs, every_setting_has_env_description_and_unique_flag) {
  std::set<std::string> envs, flags;
  for (const auto& spec : setting_specs()) {
    EXPECT_FALSE(spec.env.empty());
    EXPECT_FALSE(spec.description.empty()) << spec.env;
    EXPECT_TRUE(envs.insert(spec.env).second) << spec.env;
    if (!spec.flag.empty()) {
      EXPECT_TRUE(flags.insert(spec.flag).second) << spec.flag;
    }
  }
}

}  // namespace
}  // namespace job_fetcher::run
