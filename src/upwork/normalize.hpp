// Normalization rules shared by both Upwork sources: text cleaning, exact decimals, the
// job type and contractor tier vocabularies, skills, links, currency and the content hash.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "upwork/posting.hpp"

namespace job_fetcher::upwork {

// Cleans title and description text in one pass:
// - invalid UTF-8 becomes U+FFFD, one replacement per maximal invalid subsequence (the
//   Unicode "best practice" that Python, ICU and WHATWG decoders follow);
// - the highlight markers "H^" and "^H" are removed, matched in the input left to right;
// - control characters are removed (C0 other than '\n' and '\t', so '\r' goes too; DEL;
//   C1 U+0080..U+009F);
// - everything else is kept byte for byte.
std::string clean_text(std::string_view text);

// Appends clean_text(text) to `out`, reusing its capacity.
void append_clean_text(std::string_view text, std::string& out);

// Returns true when `text` is valid UTF-8.
bool is_valid_utf8(std::string_view text) noexcept;

// Returns `text` with each maximal invalid UTF-8 subsequence replaced by U+FFFD and every other
// byte kept, control characters included.
std::string repair_utf8(std::string_view text);

// Parses a non-negative decimal into exact text with two fraction digits ("12.5" -> "12.50",
// "1000" -> "1000.00"), never through floating point. Accepts surrounding ASCII whitespace, a
// leading '+', and forms like ".5" and "12.". More than two fraction digits round half away
// from zero, as PostgreSQL does when it stores numeric(12,2). Rejects (nullopt) empty text,
// signs other than '+', grouping commas, exponents and values of 10^10 or more (after rounding),
// which do not fit numeric(12,2).
std::optional<std::string> parse_decimal(std::string_view text);

// True for decimal text from parse_decimal that equals zero ("0.00").
bool is_zero_decimal(std::string_view decimal) noexcept;

// Maps HOURLY, hourly, Hourly, FIXED, fixed, FIXED_PRICE, fixed-price to "hourly" or "fixed".
// Any other spelling is unknown: nullopt.
std::optional<std::string> normalize_job_type(std::string_view text);

// Maps both sources' tier spellings to "entry", "intermediate" or "expert": EntryLevel,
// ENTRY_LEVEL, entry and 1; IntermediateLevel, INTERMEDIATE, intermediate and 2; ExpertLevel,
// EXPERT, expert and 3. Case, '_', '-' and spaces are ignored. Others: nullopt.
std::optional<std::string> normalize_contractor_tier(std::string_view text);

// Returns the upper-cased ISO 4217 code: "USD" for empty text, nullopt unless three ASCII
// letters remain after trimming.
std::optional<std::string> normalize_currency(std::string_view text);

// Appends a skill unless it is empty or already present, so API order is kept.
void add_skill(std::vector<std::string>& skills, std::string skill);

// Returns "https://www.upwork.com/jobs/" + ciphertext.
std::string job_link(std::string_view ciphertext);

// Sets to null a zero amount on the other job type: fixed_budget "0.00" on an hourly job,
// hourly_min or hourly_max "0.00" on a fixed job. Other amounts stay as given.
void drop_zero_amounts_of_other_type(posting& job);

// Returns the hex SHA-256 of a length-prefixed serialization of the normalized content: id,
// ciphertext, link, title, description, skills, job_type, hourly_min, hourly_max,
// fixed_budget, currency, contractor_tier, duration_label, workload, client_country,
// published_at (so a renewal counts as a change) and created_at. Not covered: source,
// content_hash, and first/last seen, which the store sets.
std::string content_hash(const posting& job);

}  // namespace job_fetcher::upwork
