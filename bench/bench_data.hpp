// Real postings prepared for the benchmarks: rendered response pages of both sources, normalized
// postings, and copies with new unique ids for benchmarks that need more postings than the file
// holds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "upwork/posting.hpp"

namespace job_fetcher::bench {

// Returns the records of upwork/postings.jsonl under JOB_FETCHER_DATA_DIR. Throws
// std::runtime_error when the file cannot be read.
std::vector<nlohmann::json> load_real_postings();

// Returns `record` with a new 19-digit id (7000000000000000000 + serial) and the ciphertext
// "~02" + id, so copies of one record never collide with each other or with a real id (real ids
// start with 1).
nlohmann::json with_unique_id(const nlohmann::json& record, std::uint64_t serial);

// One rendered API response and the number of postings in it.
struct rendered_page {
  std::string body;
  std::size_t postings = 0;
};

// Renders every record into pages of `page_size` for `source` ("visitor" or "marketplace"), in
// file order; the last page contains the remainder. Publish times are spaced 15 s apart from now.
std::vector<rendered_page> render_pages(const std::vector<nlohmann::json>& records,
                                        std::string_view source, std::size_t page_size);

// Returns the normalized posting of record `serial % records.size()` under a unique id
// (with_unique_id), as the visitor source delivers it, with its content hash filled in.
upwork::posting unique_posting(const std::vector<nlohmann::json>& records, std::uint64_t serial,
                               timestamp published_at);

}  // namespace job_fetcher::bench
