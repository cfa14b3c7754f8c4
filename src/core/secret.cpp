#include "core/secret.hpp"

namespace job_fetcher {

std::string secret::masked() const {
  // Four characters at each end identify a token among a few without making it usable.
  constexpr std::size_t shown = 4;
  if (value_.size() < 4 * shown) return fmt::format("*** ({} chars)", value_.size());
  return fmt::format("{}…{} ({} chars)", value_.substr(0, shown),
                     value_.substr(value_.size() - shown), value_.size());
}

}  // namespace job_fetcher
