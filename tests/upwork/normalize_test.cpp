#include "upwork/normalize.hpp"

#include <gtest/gtest.h>

#include <string>

namespace job_fetcher::upwork {
namespace {

TEST(clean_text, keeps_plain_ascii) {
  std::string text = "Build a REST API in C++20 (about 40 hours), budget $500.";
  EXPECT_EQ(clean_text(text), text);
}

TEST(clean_text, keeps_newlines_tabs_and_non_ascii) {
  std::string text = "Línea 1\n\tÜber ✅ 🔹 日本語 — done";
  EXPECT_EQ(clean_text(text), text);
}

TEST(clean_text, strips_highlight_markers) {
  EXPECT_EQ(clean_text("Senior H^Python^H developer"), "Senior Python developer");
  EXPECT_EQ(clean_text("H^React^H and H^Node^H"), "React and Node");
  EXPECT_EQ(clean_text("a long prefix to pass eight bytes H^word^H"),
            "a long prefix to pass eight bytes word");
}

TEST(clean_text, keeps_carets_that_are_not_markers) {
  EXPECT_EQ(clean_text("x^2 + y^2"), "x^2 + y^2");
  EXPECT_EQ(clean_text("^"), "^");
  EXPECT_EQ(clean_text("^^"), "^^");
  EXPECT_EQ(clean_text("H"), "H");
}

TEST(clean_text, matches_markers_left_to_right) {
  EXPECT_EQ(clean_text("^H^"), "^");   // "^H" first, then a lone '^'
  EXPECT_EQ(clean_text("H^H"), "H");   // "H^" first, then a lone 'H'
  EXPECT_EQ(clean_text("^HH^"), "");
  EXPECT_EQ(clean_text("HH^^H"), "H");
}

TEST(clean_text, removes_control_characters) {
  EXPECT_EQ(clean_text(std::string("a\x01" "b\x03" "c", 5)), "abc");
  EXPECT_EQ(clean_text(std::string("a\0b", 3)), "ab");
  EXPECT_EQ(clean_text("line\r\nnext"), "line\nnext");
  EXPECT_EQ(clean_text("del\x7F" "ete"), "delete");
  EXPECT_EQ(clean_text("esc\x1b[0m"), "esc[0m");
}

TEST(clean_text, removes_c1_controls) {
  EXPECT_EQ(clean_text("a\xC2\x80" "b\xC2\x9F" "c"), "abc");
  EXPECT_EQ(clean_text("\xC2\xA0nbsp kept"), "\xC2\xA0nbsp kept");  // U+00A0 is not a control
}

TEST(clean_text, replaces_invalid_utf8) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(clean_text("a\xFF" "b"), "a" + fffd + "b");
  EXPECT_EQ(clean_text("a\x80" "b"), "a" + fffd + "b");                // lone continuation
  EXPECT_EQ(clean_text("a\xC0\xAF" "b"), "a" + fffd + fffd + "b");    // overlong '/'
  EXPECT_EQ(clean_text("a\xE2\x82" "b"), "a" + fffd + "b");            // truncated euro sign
  EXPECT_EQ(clean_text("a\xED\xA0\x80" "b"), "a" + fffd + fffd + fffd + "b");  // surrogate
  EXPECT_EQ(clean_text("a\xF4\x90\x80\x80"), "a" + fffd + fffd + fffd + fffd);  // > U+10FFFF
  EXPECT_EQ(clean_text("\xF0\x9F\x98"), fffd);                          // truncated at the end
  EXPECT_EQ(clean_text("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");        // complete emoji
}

TEST(clean_text, output_is_valid_utf8) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  bytes += bytes;
  EXPECT_TRUE(is_valid_utf8(clean_text(bytes)));
  EXPECT_FALSE(is_valid_utf8(bytes));
}

TEST(clean_text, handles_specials_across_word_boundaries) {
  std::string text = "1234567H^89abcdef^H0123\x01" "456789\xC3\xA9xyz";
  EXPECT_EQ(clean_text(text), "123456789abcdef0123456789\xC3\xA9xyz");
}

TEST(repair_utf8, keeps_controls_and_replaces_invalid_bytes) {
  EXPECT_EQ(repair_utf8("a\x01\xFF"), "a\x01\xEF\xBF\xBD");
  EXPECT_EQ(repair_utf8("H^ok^H"), "H^ok^H");
}

TEST(parse_decimal, pads_to_two_fraction_digits) {
  EXPECT_EQ(parse_decimal("12.5"), "12.50");
  EXPECT_EQ(parse_decimal("800.0"), "800.00");
  EXPECT_EQ(parse_decimal("1000"), "1000.00");
  EXPECT_EQ(parse_decimal("9.99"), "9.99");
  EXPECT_EQ(parse_decimal("0"), "0.00");
  EXPECT_EQ(parse_decimal("0.0"), "0.00");
  EXPECT_EQ(parse_decimal(".5"), "0.50");
  EXPECT_EQ(parse_decimal("12."), "12.00");
  EXPECT_EQ(parse_decimal("007.10"), "7.10");
  EXPECT_EQ(parse_decimal("+3"), "3.00");
}

TEST(parse_decimal, trims_whitespace) {
  EXPECT_EQ(parse_decimal("  12 "), "12.00");
  EXPECT_EQ(parse_decimal("\t5.5\n"), "5.50");
}

TEST(parse_decimal, rounds_half_away_from_zero) {
  EXPECT_EQ(parse_decimal("1.005"), "1.01");
  EXPECT_EQ(parse_decimal("1.004999"), "1.00");
  EXPECT_EQ(parse_decimal("2.675"), "2.68");  // 2.67 through a double
  EXPECT_EQ(parse_decimal("0.125"), "0.13");
  EXPECT_EQ(parse_decimal("9.999"), "10.00");
  EXPECT_EQ(parse_decimal("33.333333333333336"), "33.33");
}

TEST(parse_decimal, limits_to_numeric_12_2) {
  EXPECT_EQ(parse_decimal("9999999999.99"), "9999999999.99");
  EXPECT_EQ(parse_decimal("0000009999999999"), "9999999999.00");
  EXPECT_EQ(parse_decimal("10000000000"), std::nullopt);
  EXPECT_EQ(parse_decimal("9999999999.995"), std::nullopt);  // rounds to 10^10
}

TEST(parse_decimal, rejects_other_forms) {
  for (const char* text : {"", " ", ".", "-1", "-0.0", "1e3", "1E3", "1,234.5", "12.5.1", "abc",
                           "0x10", "NaN", "inf", "$5", "5 USD", "1 000", "++1"}) {
    EXPECT_EQ(parse_decimal(text), std::nullopt) << text;
  }
}

TEST(normalize_job_type, maps_both_spellings) {
  EXPECT_EQ(normalize_job_type("HOURLY"), "hourly");
  EXPECT_EQ(normalize_job_type("hourly"), "hourly");
  EXPECT_EQ(normalize_job_type("Hourly"), "hourly");
  EXPECT_EQ(normalize_job_type("FIXED"), "fixed");
  EXPECT_EQ(normalize_job_type("fixed"), "fixed");
  EXPECT_EQ(normalize_job_type("FIXED_PRICE"), "fixed");
  EXPECT_EQ(normalize_job_type("fixed-price"), "fixed");
  EXPECT_EQ(normalize_job_type("WEEKLY_RETAINER"), std::nullopt);
  EXPECT_EQ(normalize_job_type(""), std::nullopt);
}

TEST(normalize_contractor_tier, maps_both_sources_and_numbers) {
  EXPECT_EQ(normalize_contractor_tier("EntryLevel"), "entry");
  EXPECT_EQ(normalize_contractor_tier("ENTRY_LEVEL"), "entry");
  EXPECT_EQ(normalize_contractor_tier("entry"), "entry");
  EXPECT_EQ(normalize_contractor_tier("1"), "entry");
  EXPECT_EQ(normalize_contractor_tier("IntermediateLevel"), "intermediate");
  EXPECT_EQ(normalize_contractor_tier("INTERMEDIATE"), "intermediate");
  EXPECT_EQ(normalize_contractor_tier("2"), "intermediate");
  EXPECT_EQ(normalize_contractor_tier("ExpertLevel"), "expert");
  EXPECT_EQ(normalize_contractor_tier("EXPERT"), "expert");
  EXPECT_EQ(normalize_contractor_tier("3"), "expert");
  EXPECT_EQ(normalize_contractor_tier("4"), std::nullopt);
  EXPECT_EQ(normalize_contractor_tier("guru"), std::nullopt);
}

TEST(normalize_currency, defaults_to_usd_and_upper_cases) {
  EXPECT_EQ(normalize_currency(""), "USD");
  EXPECT_EQ(normalize_currency("  "), "USD");
  EXPECT_EQ(normalize_currency("eur"), "EUR");
  EXPECT_EQ(normalize_currency("GBP"), "GBP");
  EXPECT_EQ(normalize_currency("US$"), std::nullopt);
  EXPECT_EQ(normalize_currency("USDT"), std::nullopt);
}

TEST(add_skill, keeps_api_order_without_duplicates) {
  std::vector<std::string> skills;
  for (const char* skill : {"Python", "SQL", "Python", "", "Go", "SQL"}) add_skill(skills, skill);
  EXPECT_EQ(skills, (std::vector<std::string>{"Python", "SQL", "Go"}));
}

TEST(job_link, appends_ciphertext) {
  EXPECT_EQ(job_link("~021896906749603939933"),
            "https://www.upwork.com/jobs/~021896906749603939933");
}

posting sample_posting() {
  posting job;
  job.id = "1896906749603939933";
  job.ciphertext = "~021896906749603939933";
  job.link = job_link(job.ciphertext);
  job.title = "Title";
  job.description = "Description";
  job.skills = {"Python", "SQL"};
  job.job_type = "hourly";
  job.hourly_min = "10.00";
  job.hourly_max = "20.00";
  job.published_at = timestamp{std::chrono::milliseconds{1'750'013'958'224}};
  job.source = "visitor";
  return job;
}

TEST(drop_zero_amounts_of_other_type, nulls_zero_fixed_budget_of_hourly_job) {
  posting job = sample_posting();
  job.fixed_budget = "0.00";
  drop_zero_amounts_of_other_type(job);
  EXPECT_EQ(job.fixed_budget, std::nullopt);
  EXPECT_EQ(job.hourly_min, "10.00");
}

TEST(drop_zero_amounts_of_other_type, nulls_zero_hourly_range_of_fixed_job) {
  posting job = sample_posting();
  job.job_type = "fixed";
  job.hourly_min = "0.00";
  job.hourly_max = "0.00";
  job.fixed_budget = "0.00";
  drop_zero_amounts_of_other_type(job);
  EXPECT_EQ(job.hourly_min, std::nullopt);
  EXPECT_EQ(job.hourly_max, std::nullopt);
  EXPECT_EQ(job.fixed_budget, "0.00");  // the job's own amount stays
}

TEST(drop_zero_amounts_of_other_type, keeps_amounts_of_unknown_type_and_non_zero) {
  posting job = sample_posting();
  job.fixed_budget = "5.00";
  drop_zero_amounts_of_other_type(job);
  EXPECT_EQ(job.fixed_budget, "5.00");
  job.job_type.reset();
  job.fixed_budget = "0.00";
  drop_zero_amounts_of_other_type(job);
  EXPECT_EQ(job.fixed_budget, "0.00");
}

TEST(content_hash, is_hex_sha256_and_stable) {
  std::string hash = content_hash(sample_posting());
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(content_hash(sample_posting()), hash);
}

TEST(content_hash, ignores_source_and_hash_fields) {
  posting job = sample_posting();
  std::string hash = content_hash(job);
  job.source = "marketplace";
  job.content_hash = "anything";
  EXPECT_EQ(content_hash(job), hash);
}

TEST(content_hash, changes_with_every_content_field) {
  const std::string base = content_hash(sample_posting());
  std::vector<std::pair<const char*, void (*)(posting&)>> changes = {
      {"id", [](posting& p) { p.id += "1"; }},
      {"ciphertext", [](posting& p) { p.ciphertext += "1"; }},
      {"link", [](posting& p) { p.link += "/"; }},
      {"title", [](posting& p) { p.title += "!"; }},
      {"description", [](posting& p) { p.description += "!"; }},
      {"skills order", [](posting& p) { std::swap(p.skills[0], p.skills[1]); }},
      {"skills split", [](posting& p) { p.skills = {"PythonSQL"}; }},
      {"job_type", [](posting& p) { p.job_type = "fixed"; }},
      {"job_type null", [](posting& p) { p.job_type.reset(); }},
      {"hourly_min", [](posting& p) { p.hourly_min = "11.00"; }},
      {"hourly_max null", [](posting& p) { p.hourly_max.reset(); }},
      {"fixed_budget", [](posting& p) { p.fixed_budget = "0.00"; }},
      {"currency", [](posting& p) { p.currency = "EUR"; }},
      {"contractor_tier", [](posting& p) { p.contractor_tier = "entry"; }},
      {"duration_label", [](posting& p) { p.duration_label = "1 to 3 months"; }},
      {"workload", [](posting& p) { p.workload = "partTime"; }},
      {"client_country", [](posting& p) { p.client_country = "India"; }},
      {"published_at", [](posting& p) { p.published_at += std::chrono::milliseconds{1}; }},
      {"created_at", [](posting& p) { p.created_at = p.published_at; }},
  };
  for (const auto& [name, change] : changes) {
    posting job = sample_posting();
    change(job);
    EXPECT_NE(content_hash(job), base) << name;
  }
}

TEST(content_hash, separates_adjacent_fields) {
  posting first = sample_posting();
  posting second = sample_posting();
  first.title = "ab";
  first.description = "c";
  second.title = "a";
  second.description = "bc";
  EXPECT_NE(content_hash(first), content_hash(second));
}

}  // namespace
}  // namespace job_fetcher::upwork
