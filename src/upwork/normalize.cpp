#include "upwork/normalize.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace job_fetcher::upwork {

namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";  // U+FFFD

constexpr std::uint64_t ones = 0x0101010101010101ULL;
constexpr std::uint64_t high_bits = 0x8080808080808080ULL;

// True when `word` has a byte equal to zero.
constexpr std::uint64_t has_zero_byte(std::uint64_t word) {
  return (word - ones) & ~word & high_bits;
}

// True when none of the eight bytes needs attention from clean_text: each one is printable
// ASCII other than '^'. Lets the common case skip eight bytes per step.
bool is_plain_ascii_word(const char* bytes) {
  std::uint64_t word = 0;
  std::memcpy(&word, bytes, sizeof word);
  std::uint64_t non_ascii = word & high_bits;
  std::uint64_t below_space = (word - ones * 0x20) & ~word & high_bits;
  std::uint64_t del = has_zero_byte(word ^ (ones * 0x7F));
  std::uint64_t caret = has_zero_byte(word ^ (ones * '^'));
  return (non_ascii | below_space | del | caret) == 0;
}

struct utf8_sequence {
  std::size_t length = 1;  // of the valid sequence, or of the maximal invalid subpart
  bool valid = false;
};

// Decodes the sequence that starts with a byte >= 0x80 at `pos` (Unicode Table 3-7: no
// overlong forms, no surrogates, nothing above U+10FFFF).
utf8_sequence decode_utf8(std::string_view text, std::size_t pos) {
  auto lead = static_cast<unsigned char>(text[pos]);
  std::size_t continuation = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuation = 1;
  } else if (lead == 0xE0) {
    continuation = 2;
    low = 0xA0;
  } else if (lead == 0xED) {
    continuation = 2;
    high = 0x9F;
  } else if (lead >= 0xE1 && lead <= 0xEF) {
    continuation = 2;
  } else if (lead == 0xF0) {
    continuation = 3;
    low = 0x90;
  } else if (lead == 0xF4) {
    continuation = 3;
    high = 0x8F;
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    continuation = 3;
  } else {
    return {1, false};
  }

  for (std::size_t i = 1; i <= continuation; ++i) {
    if (pos + i >= text.size()) return {i, false};
    auto byte = static_cast<unsigned char>(text[pos + i]);
    unsigned char min = i == 1 ? low : 0x80;
    unsigned char max = i == 1 ? high : 0xBF;
    if (byte < min || byte > max) return {i, false};
  }
  return {continuation + 1, true};
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim_ascii(std::string_view text) {
  while (!text.empty() && is_ascii_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ascii_space(text.back())) text.remove_suffix(1);
  return text;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char to_lower_ascii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// Lower-cases ASCII and drops '_', '-' and spaces, so "ENTRY_LEVEL" and "EntryLevel" compare
// equal.
std::string fold_vocabulary_word(std::string_view text) {
  std::string folded;
  folded.reserve(text.size());
  for (char c : trim_ascii(text)) {
    if (c == '_' || c == '-' || c == ' ') continue;
    folded.push_back(to_lower_ascii(c));
  }
  return folded;
}

// Adds one to a string of decimal digits; returns false on overflow into a new digit.
bool increment_digits(std::string& digits) {
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (*it != '9') {
      ++*it;
      return true;
    }
    *it = '0';
  }
  return false;
}

// Serializes postings for content_hash: every field is length-prefixed, so no two different
// postings share a serialization.
class hash_input {
 public:
  explicit hash_input(std::string& buffer) : buffer_(buffer) { buffer_.clear(); }

  void add(std::string_view text) {
    add_integer(static_cast<std::uint64_t>(text.size()));
    buffer_.append(text);
  }
  void add(const std::string& text) { add(std::string_view{text}); }
  void add(const std::optional<std::string>& text) {
    buffer_.push_back(text ? '\1' : '\0');
    if (text) add(*text);
  }
  void add(const std::vector<std::string>& texts) {
    add_integer(static_cast<std::uint64_t>(texts.size()));
    for (const auto& text : texts) add(text);
  }
  void add(timestamp at) { add_integer(static_cast<std::uint64_t>(at.time_since_epoch().count())); }
  void add(const std::optional<timestamp>& at) {
    buffer_.push_back(at ? '\1' : '\0');
    if (at) add(*at);
  }

 private:
  void add_integer(std::uint64_t value) {
    for (int shift = 56; shift >= 0; shift -= 8) {
      buffer_.push_back(static_cast<char>((value >> shift) & 0xFF));
    }
  }

  std::string& buffer_;
};

struct digest_context_deleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

const EVP_MD* sha256() {
  // Fetched once: an implicit fetch on every digest costs more than hashing a posting.
  static EVP_MD* digest = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (digest == nullptr) throw std::runtime_error("OpenSSL has no SHA256 implementation");
  return digest;
}

}  // namespace

void append_clean_text(std::string_view text, std::string& out) {
  const std::size_t size = text.size();
  std::size_t pos = 0;
  std::size_t run_start = 0;  // start of the input bytes kept but not yet appended
  auto flush = [&](std::size_t end) { out.append(text.data() + run_start, end - run_start); };

  while (pos < size) {
    if (pos + 8 <= size && is_plain_ascii_word(text.data() + pos)) {
      pos += 8;
      continue;
    }
    auto byte = static_cast<unsigned char>(text[pos]);

    if (byte < 0x80) {
      bool printable = byte >= 0x20 && byte != 0x7F;
      if ((printable && byte != '^') || byte == '\n' || byte == '\t') {
        ++pos;
        continue;
      }
      if (!printable) {
        flush(pos);
        run_start = ++pos;
        continue;
      }
      // A '^' closes "H^" when the 'H' before it is still kept, else it may open "^H".
      if (pos > run_start && text[pos - 1] == 'H') {
        flush(pos - 1);
        run_start = ++pos;
      } else if (pos + 1 < size && text[pos + 1] == 'H') {
        flush(pos);
        pos += 2;
        run_start = pos;
      } else {
        ++pos;
      }
      continue;
    }

    utf8_sequence sequence = decode_utf8(text, pos);
    bool c1_control = sequence.valid && byte == 0xC2 &&
                      static_cast<unsigned char>(text[pos + 1]) <= 0x9F;
    if (sequence.valid && !c1_control) {
      pos += sequence.length;
      continue;
    }
    flush(pos);
    if (!sequence.valid) out.append(replacement_character);
    pos += sequence.length;
    run_start = pos;
  }
  flush(size);
}

std::string clean_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_clean_text(text, out);
  return out;
}

bool is_valid_utf8(std::string_view text) noexcept {
  for (std::size_t pos = 0; pos < text.size();) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    utf8_sequence sequence = decode_utf8(text, pos);
    if (!sequence.valid) return false;
    pos += sequence.length;
  }
  return true;
}

std::string repair_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  std::size_t run_start = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    utf8_sequence sequence = decode_utf8(text, pos);
    if (!sequence.valid) {
      out.append(text.data() + run_start, pos - run_start);
      out.append(replacement_character);
      run_start = pos + sequence.length;
    }
    pos += sequence.length;
  }
  out.append(text.data() + run_start, text.size() - run_start);
  return out;
}

std::optional<std::string> parse_decimal(std::string_view text) {
  text = trim_ascii(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);

  std::size_t pos = 0;
  while (pos < text.size() && is_digit(text[pos])) ++pos;
  std::string_view integer = text.substr(0, pos);
  std::string_view fraction;
  if (pos < text.size() && text[pos] == '.') {
    std::size_t fraction_start = ++pos;
    while (pos < text.size() && is_digit(text[pos])) ++pos;
    fraction = text.substr(fraction_start, pos - fraction_start);
  }
  if (pos != text.size() || (integer.empty() && fraction.empty())) return std::nullopt;

  while (integer.size() > 1 && integer.front() == '0') integer.remove_prefix(1);
  if (integer.empty()) integer = "0";

  // The digits of value * 100, rounded half away from zero on the third fraction digit.
  std::string cents(integer);
  cents.push_back(fraction.size() > 0 ? fraction[0] : '0');
  cents.push_back(fraction.size() > 1 ? fraction[1] : '0');
  if (fraction.size() > 2 && fraction[2] >= '5' && !increment_digits(cents)) {
    cents.insert(cents.begin(), '1');
  }

  constexpr std::size_t max_integer_digits = 10;  // numeric(12,2)
  std::size_t integer_digits = cents.size() - 2;
  if (integer_digits > max_integer_digits) return std::nullopt;

  std::string decimal = cents.substr(0, integer_digits);
  decimal.push_back('.');
  decimal.append(cents, integer_digits, 2);
  return decimal;
}

bool is_zero_decimal(std::string_view decimal) noexcept { return decimal == "0.00"; }

std::optional<std::string> normalize_job_type(std::string_view text) {
  std::string word = fold_vocabulary_word(text);
  if (word == "hourly") return "hourly";
  if (word == "fixed" || word == "fixedprice") return "fixed";
  return std::nullopt;
}

std::optional<std::string> normalize_contractor_tier(std::string_view text) {
  std::string word = fold_vocabulary_word(text);
  if (word == "entrylevel" || word == "entry" || word == "1") return "entry";
  if (word == "intermediatelevel" || word == "intermediate" || word == "2") {
    return "intermediate";
  }
  if (word == "expertlevel" || word == "expert" || word == "3") return "expert";
  return std::nullopt;
}

std::optional<std::string> normalize_currency(std::string_view text) {
  text = trim_ascii(text);
  if (text.empty()) return "USD";
  if (text.size() != 3) return std::nullopt;

  std::string code;
  for (char c : text) {
    char upper = c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c;
    if (upper < 'A' || upper > 'Z') return std::nullopt;
    code.push_back(upper);
  }
  return code;
}

void add_skill(std::vector<std::string>& skills, std::string skill) {
  if (skill.empty()) return;
  if (std::find(skills.begin(), skills.end(), skill) != skills.end()) return;
  skills.push_back(std::move(skill));
}

std::string job_link(std::string_view ciphertext) {
  constexpr std::string_view prefix = "https://www.upwork.com/jobs/";
  std::string link;
  link.reserve(prefix.size() + ciphertext.size());
  link.append(prefix);
  link.append(ciphertext);
  return link;
}

void drop_zero_amounts_of_other_type(posting& job) {
  auto drop_zero = [](std::optional<std::string>& amount) {
    if (amount && is_zero_decimal(*amount)) amount.reset();
  };
  if (job.job_type == "hourly") {
    drop_zero(job.fixed_budget);
  } else if (job.job_type == "fixed") {
    drop_zero(job.hourly_min);
    drop_zero(job.hourly_max);
  }
}

std::string content_hash(const posting& job) {
  thread_local std::string buffer;
  hash_input input(buffer);
  input.add(std::string_view{"job-fetcher posting v1"});
  input.add(job.id);
  input.add(job.ciphertext);
  input.add(job.link);
  input.add(job.title);
  input.add(job.description);
  input.add(job.skills);
  input.add(job.job_type);
  input.add(job.hourly_min);
  input.add(job.hourly_max);
  input.add(job.fixed_budget);
  input.add(job.currency);
  input.add(job.contractor_tier);
  input.add(job.duration_label);
  input.add(job.workload);
  input.add(job.client_country);
  input.add(job.published_at);
  input.add(job.created_at);

  thread_local std::unique_ptr<EVP_MD_CTX, digest_context_deleter> context{EVP_MD_CTX_new()};
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  if (!context || EVP_DigestInit_ex(context.get(), sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), buffer.data(), buffer.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest.data(), &digest_size) != 1) {
    throw std::runtime_error("OpenSSL failed to compute SHA-256");
  }

  constexpr std::string_view hex_digits = "0123456789abcdef";
  std::string hex;
  hex.reserve(digest_size * 2);
  for (unsigned int i = 0; i < digest_size; ++i) {
    hex.push_back(hex_digits[digest[i] >> 4]);
    hex.push_back(hex_digits[digest[i] & 0x0F]);
  }
  return hex;
}

}  // namespace job_fetcher::upwork
