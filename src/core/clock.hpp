// Time as an injectable dependency, so retries, leases and deadlines are tested without waiting.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace job_fetcher {

// UTC instants with millisecond precision, the precision Upwork publishes.
using timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

// The current time and a way to wait. Implementations are thread-safe.
class clock_source {
 public:
  virtual ~clock_source() = default;
  virtual timestamp now() const = 0;
  // Monotonic time for measuring durations and deadlines.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
  virtual void sleep_for(std::chrono::milliseconds duration) = 0;
};

// The system clock and std::this_thread::sleep_for.
clock_source& system_clock_source();

// Formats as "2025-06-15T18:59:18.224Z" (always three fraction digits, always UTC).
std::string format_timestamp(timestamp at);

// Parses every timestamp form Upwork sends: "2025-06-15T18:59:18.224Z",
// "2025-10-16T06:06:47+0000", "2025-10-16T06:06:47+00:00", fractions of 0 to 9 digits (kept to
// the millisecond), any UTC offset, and "T" or a space between date and time.
std::optional<timestamp> parse_timestamp(std::string_view text);

}  // namespace job_fetcher
