#include "core/log.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <mutex>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace job_fetcher::log {

namespace {

struct logger_state {
  std::mutex mutex;
  options opts;
};

logger_state& state() {
  static logger_state instance;
  return instance;
}

std::atomic<int> min_level_value{static_cast<int>(level::info)};

thread_local nlohmann::json context = nlohmann::json::object();

constexpr std::array<std::string_view, 5> level_names{"debug", "info", "warn", "error", "off"};

bool is_credential_key(std::string_view key) {
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view word : {"token", "secret", "password", "authorization", "cookie",
                                "apikey", "api_key", "credential"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

nlohmann::json safe_value(const field& f) {
  if (is_credential_key(f.key)) return "***";
  return f.value;
}

std::string text_value(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void configure(const options& opts) {
  std::lock_guard lock(state().mutex);
  state().opts = opts;
  min_level_value = static_cast<int>(opts.min_level);
}

std::optional<level> parse_level(std::string_view name) {
  for (std::size_t i = 0; i < level_names.size(); ++i) {
    if (level_names[i] == name) return static_cast<level>(i);
  }
  return std::nullopt;
}

void set_context(std::string_view key, nlohmann::json value) {
  context[std::string(key)] = std::move(value);
}

void clear_context() { context = nlohmann::json::object(); }

bool enabled(level at) { return static_cast<int>(at) >= min_level_value.load(); }

void write(level at, std::string_view operation, std::string_view event,
           std::initializer_list<field> fields) {
  if (!enabled(at) || at == level::off) return;
  auto& s = state();
  std::string line;
  if (s.opts.json) {
    nlohmann::json object = nlohmann::json::object();
    object["time"] = fmt::format("{:%FT%T}Z", std::chrono::floor<std::chrono::milliseconds>(
                                                  std::chrono::system_clock::now()));
    object["level"] = level_names[static_cast<std::size_t>(at)];
    object["msg"] = fmt::format("{}: {}", operation, event);
    for (const auto& [key, value] : context.items()) object[key] = value;
    for (const auto& f : fields) object[f.key] = safe_value(f);
    line = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = fmt::format("{} {}", level_names[static_cast<std::size_t>(at)], operation);
    for (const auto& [key, value] : context.items()) {
      line += fmt::format(" {}={}", key, text_value(value));
    }
    for (const auto& f : fields) line += fmt::format(" {}={}", f.key, text_value(safe_value(f)));
    line += fmt::format(": {}", event);
  }
  line += '\n';
  std::lock_guard lock(s.mutex);
  std::fwrite(line.data(), 1, line.size(), s.opts.stream);
  std::fflush(s.opts.stream);
}

void write_raw_json(const nlohmann::json& object) {
  auto& s = state();
  std::string line = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(s.mutex);
  std::fwrite(line.data(), 1, line.size(), s.opts.stream);
  std::fflush(s.opts.stream);
}

}  // namespace job_fetcher::log
