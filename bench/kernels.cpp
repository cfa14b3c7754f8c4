// Kernel benchmarks: parse + normalize of real-shaped 50-posting pages of both sources, the
// content hash, text cleaning, and the SQLite upsert of one 50-posting page.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "bench_data.hpp"
#include "store/store.hpp"
#include "upwork/marketplace.hpp"
#include "upwork/normalize.hpp"
#include "upwork/visitor.hpp"

namespace {

using namespace job_fetcher;

constexpr std::size_t page_size = 50;
constexpr std::string_view json_content_type = "application/json";

const std::vector<nlohmann::json>& records() {
  static const std::vector<nlohmann::json> loaded = bench::load_real_postings();
  return loaded;
}

const std::vector<bench::rendered_page>& pages_of(std::string_view source) {
  static const auto visitor = bench::render_pages(records(), "visitor", page_size);
  static const auto marketplace = bench::render_pages(records(), "marketplace", page_size);
  return source == "visitor" ? visitor : marketplace;
}

// The normalized postings, as the visitor source delivers them.
const std::vector<upwork::posting>& postings() {
  static const std::vector<upwork::posting> all = [] {
    std::vector<upwork::posting> out;
    auto page_list = pages_of("visitor");
    for (const auto& page : page_list) {
      auto parsed = upwork::parse_visitor_page(200, json_content_type, page.body);
      if (!parsed) throw std::runtime_error(parsed.err().describe());
      for (auto& job : parsed->postings) out.push_back(std::move(job));
    }
    return out;
  }();
  return all;
}

timestamp now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// Parses every page of the data file in turn, so the figure covers all real postings.
template <class Parse>
void run_parse(benchmark::State& state, std::string_view source, Parse parse) {
  const auto& page_list = pages_of(source);
  std::size_t next = 0;
  std::int64_t bytes = 0;
  std::int64_t items = 0;
  for (auto _ : state) {
    const auto& page = page_list[next];
    next = (next + 1) % page_list.size();
    auto parsed = parse(200, json_content_type, page.body);
    if (!parsed) {
      state.SkipWithError(parsed.err().describe().c_str());
      return;
    }
    benchmark::DoNotOptimize(parsed->postings.data());
    bytes += static_cast<std::int64_t>(page.body.size());
    items += static_cast<std::int64_t>(parsed->postings.size());
  }
  state.SetBytesProcessed(bytes);
  state.SetItemsProcessed(items);
  state.counters["pages_in_rotation"] = static_cast<double>(page_list.size());
}

void parse_visitor_page(benchmark::State& state) {
  run_parse(state, "visitor", upwork::parse_visitor_page);
}
BENCHMARK(parse_visitor_page);

void parse_marketplace_page(benchmark::State& state) {
  run_parse(state, "marketplace", upwork::parse_marketplace_page);
}
BENCHMARK(parse_marketplace_page);

void content_hash(benchmark::State& state) {
  const auto& all = postings();
  std::size_t next = 0;
  std::int64_t bytes = 0;
  for (auto _ : state) {
    const auto& job = all[next];
    next = (next + 1) % all.size();
    auto hash = upwork::content_hash(job);
    benchmark::DoNotOptimize(hash.data());
    bytes += static_cast<std::int64_t>(job.title.size() + job.description.size());
  }
  state.SetBytesProcessed(bytes);  // title and description bytes, the bulk of the hashed input
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(content_hash);

// Cleans the raw descriptions of the data file, as they arrive from the API.
void clean_text(benchmark::State& state) {
  static const std::vector<std::string> descriptions = [] {
    std::vector<std::string> out;
    for (const auto& record : records()) out.push_back(record.at("description").get<std::string>());
    return out;
  }();
  std::size_t next = 0;
  std::int64_t bytes = 0;
  for (auto _ : state) {
    const auto& text = descriptions[next];
    next = (next + 1) % descriptions.size();
    auto cleaned = upwork::clean_text(text);
    benchmark::DoNotOptimize(cleaned.data());
    bytes += static_cast<std::int64_t>(text.size());
  }
  state.SetBytesProcessed(bytes);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(clean_text);

// A SQLite store in a new file under /tmp, removed with its WAL files when the benchmark ends.
class temp_sqlite_store {
 public:
  temp_sqlite_store() {
    static int counter = 0;
    path_ = fmt::format("/tmp/job-fetcher-bench-{}-{}.db", ::getpid(), ++counter);
    store::store_settings settings;
    settings.url = "sqlite:" + path_;
    auto opened = store::open_store(settings);
    if (!opened) throw std::runtime_error(opened.err().describe());
    store_ = std::move(opened).value();
    if (auto migrated = store_->migrate(); !migrated) {
      throw std::runtime_error(migrated.err().describe());
    }
    auto run = store_->begin_run("bench", now_ms());
    if (!run) throw std::runtime_error(run.err().describe());
    run_id_ = *run;
  }
  temp_sqlite_store(const temp_sqlite_store&) = delete;
  temp_sqlite_store& operator=(const temp_sqlite_store&) = delete;
  ~temp_sqlite_store() {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  store::job_store& get() { return *store_; }

  store::page_write page(std::vector<upwork::posting> jobs) const {
    store::page_write write;
    write.feed = "bench";
    write.run_id = run_id_;
    write.postings = std::move(jobs);
    write.seen_at = now_ms();
    return write;
  }

 private:
  std::string path_;
  std::unique_ptr<store::job_store> store_;
  std::int64_t run_id_ = 0;
};

// Each page contains 50 postings the store has not seen: real records under new unique ids.
void sqlite_write_page_new(benchmark::State& state) {
  temp_sqlite_store db;
  std::uint64_t serial = 0;
  std::int64_t inserted = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<upwork::posting> jobs;
    jobs.reserve(page_size);
    auto published = now_ms();
    for (std::size_t i = 0; i < page_size; ++i) {
      jobs.push_back(bench::unique_posting(records(), serial++, published));
    }
    auto write = db.page(std::move(jobs));
    state.ResumeTiming();

    auto counts = db.get().write_page(write);
    if (!counts) {
      state.SkipWithError(counts.err().describe().c_str());
      return;
    }
    inserted += counts->inserted;
  }
  state.SetItemsProcessed(inserted);
  state.counters["rows_in_table"] = static_cast<double>(inserted);
}
BENCHMARK(sqlite_write_page_new)->Unit(benchmark::kMillisecond);

// Each page contains 50 postings stored before with the same content: only the sighting moves.
void sqlite_write_page_unchanged(benchmark::State& state) {
  temp_sqlite_store db;
  const auto& all = postings();
  std::vector<store::page_write> pages;
  for (std::size_t first = 0; first + page_size <= all.size(); first += page_size) {
    pages.push_back(db.page({all.begin() + static_cast<std::ptrdiff_t>(first),
                             all.begin() + static_cast<std::ptrdiff_t>(first + page_size)}));
    if (auto counts = db.get().write_page(pages.back()); !counts) {
      state.SkipWithError(counts.err().describe().c_str());
      return;
    }
  }

  std::size_t next = 0;
  std::int64_t unchanged = 0;
  for (auto _ : state) {
    auto& write = pages[next];
    next = (next + 1) % pages.size();
    write.seen_at = now_ms();
    auto counts = db.get().write_page(write);
    if (!counts) {
      state.SkipWithError(counts.err().describe().c_str());
      return;
    }
    if (counts->inserted + counts->updated != 0) {
      state.SkipWithError("a page of unchanged postings inserted or updated rows");
      return;
    }
    unchanged += counts->unchanged;
  }
  state.SetItemsProcessed(unchanged);
}
BENCHMARK(sqlite_write_page_unchanged)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
