// Fuzzes the authenticator response parser (HTTP authenticator, Lambda authenticator, OAuth2).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/authenticator.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  // A fixed instant keeps every run of an input identical.
  const auto now = job_fetcher::timestamp{std::chrono::milliseconds{1'750'000'000'000}};
  (void)job_fetcher::auth::parse_token_response(body, "fuzz", now);
  return 0;
}
