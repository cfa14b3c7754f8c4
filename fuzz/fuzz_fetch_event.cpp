// Fuzzes the Lambda event parser (EventBridge envelopes and Scheduler inputs).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aws/events.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view payload(reinterpret_cast<const char*>(data), size);
  (void)job_fetcher::aws::parse_fetch_event(payload);
  return 0;
}
