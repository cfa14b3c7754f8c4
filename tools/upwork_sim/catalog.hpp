// The simulated job board: which postings are published, in which order, and their pages.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "posting_data.hpp"

namespace job_fetcher::upwork_sim {

// Restricts a search. Empty lists match everything.
struct search_filter {
  std::vector<std::string> terms;             // lower-case; every term must occur
  std::vector<std::string> job_types;         // "HOURLY", "FIXED"
  std::vector<std::string> contractor_tiers;  // "EntryLevel", "IntermediateLevel", "ExpertLevel"
  std::vector<std::string> countries;         // lower-case full country names

  bool matches(const source_posting& posting) const;
  bool empty() const;
};

// Splits a user query into lower-case terms: words, or phrases in double quotes.
// NOTE: AND, OR and NOT are treated as ordinary words, so a query using Upwork's boolean
// syntax matches fewer postings here than on Upwork.
std::vector<std::string> split_query_terms(const std::string& query);

struct visitor_page {
  std::size_t total = 0;             // postings matching the filter
  std::vector<std::string> results;  // rendered `results[]` entries, newest first
};

struct marketplace_edge {
  std::string cursor;
  std::string node;  // rendered node
};

struct marketplace_page {
  std::size_t total = 0;  // postings matching the filter, not capped
  std::vector<marketplace_edge> edges;
  bool has_next_page = false;
};

// Published postings ordered newest first plus a pool of unpublished ones. Every publication
// gets a sequence number that grows with each publish or renew. A marketplace cursor contains
// that number, so it keeps its place when postings are added above it or removed.
// Thread-safe: every member function takes the internal mutex.
class catalog {
 public:
  // Publishes the first `published` postings (the file lists the newest first) with publish
  // times spread back from `now` at about 6,000 postings a day. The rest form the pool.
  catalog(std::vector<source_posting> postings, std::size_t published, std::uint64_t seed,
          sim_time now);

  // Returns `count` matches from `offset` (newest first) and the number of matches.
  visitor_page visitor_search(const search_filter& filter, std::size_t offset, std::size_t count,
                              bool highlight) const;

  // Returns up to `first` matches older than the cursor `after_sequence` (none: from the top),
  // never beyond the first `cap` matches.
  marketplace_page marketplace_search(const search_filter& filter,
                                      std::optional<std::uint64_t> after_sequence,
                                      std::size_t first, std::size_t cap) const;

  // Publishes up to n pool postings at the top. Returns how many were published.
  std::size_t publish(std::size_t n, sim_time now);
  // Moves up to n randomly chosen published postings, never the top one, to the top with a new
  // publish time. Returns how many moved.
  std::size_t renew(std::size_t n, sim_time now);
  // Removes up to n randomly chosen published postings. Returns how many were removed.
  std::size_t remove(std::size_t n, sim_time now);

  // Adds a posting to the data set (not published). Returns its index for publish_at.
  std::size_t add_posting(source_posting posting);
  // Publishes posting `index` with `publish_time`, placed among the published postings by that
  // time, so a posting published late appears below newer ones. `now` is recorded in the history.
  void publish_at(std::size_t index, sim_time publish_time, sim_time now);
  // Number of postings in the data set, published or not.
  std::size_t posting_count() const;
  // A copy of posting `index`.
  source_posting posting_at(std::size_t index) const;

  // Every posting ever published, in first-publication order: id, first and last publish time,
  // when it was published (simulated time of the event), renewals, and when it was deleted.
  nlohmann::ordered_json history() const;

  std::vector<std::string> published_ids() const;
  std::size_t published_count() const;
  std::size_t pool_count() const;

  // The data file's record of a published posting plus the times the simulator assigned.
  std::optional<std::string> published_record(const std::string& id) const;

 private:
  struct publication {
    std::size_t posting;  // index into postings_
    std::uint64_t sequence;
    publication_times times;
    // Rendered on first use and kept, so startup stays fast and later pages are cheap.
    mutable std::string visitor_json;
    mutable std::string marketplace_json;
  };

  publication make_publication(std::size_t posting, publication_times times);
  const std::string& visitor_json(const publication& entry) const;
  const std::string& marketplace_json(const publication& entry) const;
  // Publish times for k postings placed at the top: strictly newer than the current top,
  // newest first, close to `now`.
  std::vector<sim_time> top_times(std::size_t k, sim_time now) const;
  sim_time create_time_before(sim_time publish_time);

  struct history_entry {
    std::string id;
    sim_time first_publish_time;
    sim_time last_publish_time;
    sim_time published_at;  // when the publication happened; differs for late publishing
    int renewals = 0;
    std::optional<sim_time> deleted_at;
  };
  void note_published(std::size_t posting, sim_time publish_time, sim_time now);

  std::vector<source_posting> postings_;
  std::vector<history_entry> history_;
  std::unordered_map<std::string, std::size_t> history_index_;  // id → history_ position
  mutable std::mutex mutex_;
  std::vector<publication> published_;  // oldest first, so the top is the back
  std::deque<std::size_t> pool_;
  std::uint64_t next_sequence_ = 1;
  std::mt19937_64 rng_;
};

// Encodes a marketplace cursor for a publication sequence number.
std::string encode_cursor(std::uint64_t sequence);
// Decodes a cursor made by encode_cursor; std::nullopt when it is not one.
std::optional<std::uint64_t> decode_cursor(const std::string& cursor);

}  // namespace job_fetcher::upwork_sim
