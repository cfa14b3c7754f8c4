#include "faults.hpp"

#include <stdexcept>

namespace job_fetcher::upwork_sim {
namespace {

int int_field(const nlohmann::json& entry, const char* key, int fallback) {
  auto found = entry.find(key);
  if (found == entry.end()) {
    return fallback;
  }
  if (!found->is_number_integer()) {
    throw std::invalid_argument(std::string("fault field \"") + key + "\" must be an integer");
  }
  return found->get<int>();
}

}  // namespace

fault parse_fault(const nlohmann::json& entry) {
  if (!entry.is_object()) {
    throw std::invalid_argument("each fault must be a JSON object");
  }
  fault parsed;
  parsed.status = int_field(entry, "status", 500);
  parsed.retry_after_seconds = int_field(entry, "retry_after", 1);
  parsed.ms = int_field(entry, "ms", 0);
  if (auto message = entry.find("message"); message != entry.end() && message->is_string()) {
    parsed.message = message->get<std::string>();
  }
  if (auto extensions = entry.find("extensions"); extensions != entry.end()) {
    parsed.extensions = *extensions;
  }

  auto kind = entry.find("kind");
  if (kind == entry.end()) {
    if (!entry.contains("status")) {
      throw std::invalid_argument("a fault needs \"kind\" or \"status\"");
    }
    parsed.kind = fault_kind::status;
  } else if (!kind->is_string()) {
    throw std::invalid_argument("fault field \"kind\" must be a string");
  } else if (*kind == "status") {
    parsed.kind = fault_kind::status;
  } else if (*kind == "cloudflare") {
    parsed.kind = fault_kind::cloudflare;
  } else if (*kind == "truncate") {
    parsed.kind = fault_kind::truncate;
  } else if (*kind == "graphql_error") {
    parsed.kind = fault_kind::graphql_error;
  } else if (*kind == "reset") {
    parsed.kind = fault_kind::reset;
  } else if (*kind == "slow") {
    parsed.kind = fault_kind::slow;
  } else if (*kind == "marketplace_pagination_500") {
    parsed.kind = fault_kind::marketplace_pagination_500;
  } else if (*kind == "expire_tokens") {
    parsed.kind = fault_kind::expire_tokens;
  } else {
    throw std::invalid_argument(
        "unknown fault kind \"" + kind->get<std::string>() +
        "\"; valid kinds: status, cloudflare, truncate, graphql_error, reset, slow, "
        "marketplace_pagination_500, expire_tokens");
  }

  if (parsed.status < 100 || parsed.status > 599) {
    throw std::invalid_argument("fault status must be between 100 and 599");
  }
  if (parsed.ms < 0 || parsed.retry_after_seconds < 0) {
    throw std::invalid_argument("fault ms and retry_after must not be negative");
  }
  return parsed;
}

void fault_queue::replace(std::deque<fault> faults) {
  std::lock_guard lock(mutex_);
  faults_ = std::move(faults);
}

std::optional<fault> fault_queue::pop() {
  std::lock_guard lock(mutex_);
  if (faults_.empty()) {
    return std::nullopt;
  }
  fault next = std::move(faults_.front());
  faults_.pop_front();
  return next;
}

std::size_t fault_queue::size() const {
  std::lock_guard lock(mutex_);
  return faults_.size();
}

}  // namespace job_fetcher::upwork_sim
