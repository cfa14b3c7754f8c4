// Fuzzes the marketplace search response parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "upwork/marketplace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)job_fetcher::upwork::parse_marketplace_page(200, "application/json", body);
  (void)job_fetcher::upwork::parse_marketplace_page(500, "application/json", body);
  return 0;
}
