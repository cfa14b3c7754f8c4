#include "bench_data.hpp"

#include <span>

#include "doubles/fixtures/posting_fixtures.hpp"

namespace job_fetcher::bench {

namespace {

constexpr std::uint64_t unique_id_base = 7'000'000'000'000'000'000ULL;
constexpr std::chrono::milliseconds publish_spacing{15'000};

timestamp now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace

std::vector<nlohmann::json> load_real_postings() {
  return fixtures::load_postings(fixtures::postings_path());
}

nlohmann::json with_unique_id(const nlohmann::json& record, std::uint64_t serial) {
  nlohmann::json copy = record;
  std::string id = std::to_string(unique_id_base + serial);
  copy["ciphertext"] = "~02" + id;
  copy["id"] = std::move(id);
  return copy;
}

std::vector<rendered_page> render_pages(const std::vector<nlohmann::json>& records,
                                        std::string_view source, std::size_t page_size) {
  std::span<const nlohmann::json> all(records);
  auto times = fixtures::spaced_publish_times(records.size(), now_ms(), publish_spacing);
  std::span<const timestamp> all_times(times);

  std::vector<rendered_page> pages;
  for (std::size_t first = 0; first < records.size(); first += page_size) {
    std::size_t count = std::min(page_size, records.size() - first);
    auto slice = all.subspan(first, count);
    auto slice_times = all_times.subspan(first, count);
    auto total = static_cast<std::int64_t>(records.size());
    bool has_next = first + count < records.size();

    rendered_page page;
    page.postings = count;
    page.body = source == "visitor"
                    ? fixtures::render_visitor_page(slice, static_cast<std::int64_t>(first),
                                                    total, slice_times)
                    : fixtures::render_marketplace_page(slice, total, slice_times,
                                                        static_cast<std::int64_t>(first),
                                                        has_next);
    pages.push_back(std::move(page));
  }
  return pages;
}

upwork::posting unique_posting(const std::vector<nlohmann::json>& records, std::uint64_t serial,
                               timestamp published_at) {
  const auto& record = records[serial % records.size()];
  return fixtures::expected_posting(with_unique_id(record, serial), "visitor", published_at);
}

}  // namespace job_fetcher::bench
