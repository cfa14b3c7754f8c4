// A secret (bearer token, API key, password) that cannot be printed by accident.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace job_fetcher {

// Holds a secret value. Streaming or formatting it prints `***`; only reveal() gives the value,
// so every place that sends a secret over the wire is easy to find.
class secret {
 public:
  secret() = default;
  explicit secret(std::string value) : value_(std::move(value)) {}

  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }

  // Returns "abcd…wxyz (40 chars)" style text for operators; short secrets are fully masked.
  std::string masked() const;

  friend bool operator==(const secret&, const secret&) = default;
  friend std::ostream& operator<<(std::ostream& out, const secret&) { return out << "***"; }

 private:
  std::string value_;
};

}  // namespace job_fetcher

template <>
struct fmt::formatter<job_fetcher::secret> : fmt::formatter<std::string_view> {
  template <class Context>
  auto format(const job_fetcher::secret&, Context& context) const {
    return fmt::formatter<std::string_view>::format("***", context);
  }
};
