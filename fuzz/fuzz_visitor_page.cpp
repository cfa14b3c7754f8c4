// Fuzzes the visitor search response parser: any body with any of the statuses Upwork sends.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "upwork/visitor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)job_fetcher::upwork::parse_visitor_page(200, "application/json", body);
  (void)job_fetcher::upwork::parse_visitor_page(503, "text/html; charset=utf-8", body);
  return 0;
}
