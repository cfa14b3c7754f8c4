#include "core/error.hpp"

#include <array>

#include <fmt/format.h>

namespace job_fetcher {

namespace {

constexpr std::array<std::pair<error_class, std::string_view>, 8> class_names{{
    {error_class::auth, "auth"},
    {error_class::scope, "scope"},
    {error_class::blocked, "blocked"},
    {error_class::rate_limited, "rate_limited"},
    {error_class::transient, "transient"},
    {error_class::bad_response, "bad_response"},
    {error_class::store, "store"},
    {error_class::config, "config"},
}};

}  // namespace

std::string_view to_string(error_class kind) noexcept {
  for (const auto& [value, name] : class_names) {
    if (value == kind) return name;
  }
  return "unknown";
}

std::optional<error_class> parse_error_class(std::string_view name) noexcept {
  for (const auto& [value, known] : class_names) {
    if (known == name) return value;
  }
  return std::nullopt;
}

bool is_retryable(error_class kind) noexcept {
  return kind == error_class::transient || kind == error_class::rate_limited ||
         kind == error_class::blocked;
}

std::string error::describe() const {
  std::string text = fmt::format("{}: {}", to_string(kind), message);
  if (http_status != 0) text += fmt::format(" (HTTP {})", http_status);
  if (!url.empty()) text += fmt::format(" [{}]", url);
  if (!json_path.empty()) text += fmt::format(" at {}", json_path);
  if (!sqlstate.empty()) text += fmt::format(" SQLSTATE {}", sqlstate);
  return text;
}

}  // namespace job_fetcher
