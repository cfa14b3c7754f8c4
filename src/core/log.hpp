// The one structured logger. Text lines read `operation [key=value …]: event`; JSON lines (for
// Lambda and CloudWatch) carry `level`, `msg`, the context ids and the fields.
#pragma once

#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace job_fetcher::log {

enum class level { debug, info, warn, error, off };

struct options {
  level min_level = level::info;
  bool json = false;
  std::FILE* stream = stderr;  // the CLI keeps stdout for its summary; Lambda logs to stdout
};

// Applies options process-wide. Safe to call before any thread starts.
void configure(const options& opts);

// Parses "debug" | "info" | "warn" | "error" | "off".
std::optional<level> parse_level(std::string_view name);

// One key=value pair of a log line. Values whose key names a credential (token, secret,
// password, authorization, cookie, apikey) are written as "***" whatever they hold.
struct field {
  std::string key;
  nlohmann::json value;
};

// Context ids added to every line written by this thread (feed, run_id, request_id).
void set_context(std::string_view key, nlohmann::json value);
void clear_context();

bool enabled(level at);
void write(level at, std::string_view operation, std::string_view event,
           std::initializer_list<field> fields = {});

inline void debug(std::string_view operation, std::string_view event,
                  std::initializer_list<field> fields = {}) {
  if (enabled(level::debug)) write(level::debug, operation, event, fields);
}
inline void info(std::string_view operation, std::string_view event,
                 std::initializer_list<field> fields = {}) {
  write(level::info, operation, event, fields);
}
inline void warn(std::string_view operation, std::string_view event,
                 std::initializer_list<field> fields = {}) {
  write(level::warn, operation, event, fields);
}
inline void error(std::string_view operation, std::string_view event,
                  std::initializer_list<field> fields = {}) {
  write(level::error, operation, event, fields);
}

// Writes one preformatted JSON object as its own line (CloudWatch EMF); ignores min_level.
void write_raw_json(const nlohmann::json& object);

}  // namespace job_fetcher::log
