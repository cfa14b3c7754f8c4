#include "catalog.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace job_fetcher::upwork_sim {
namespace {

using std::chrono::milliseconds;

// Upwork publishes about 6,000 postings a day: one every 14.4 s on average.
constexpr milliseconds mean_publish_gap{14'400};

bool contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace

bool search_filter::matches(const source_posting& posting) const {
  for (const auto& term : terms) {
    if (posting.search_text.find(term) == std::string::npos) {
      return false;
    }
  }
  if (!job_types.empty() && !contains(job_types, posting.job_type)) {
    return false;
  }
  if (!contractor_tiers.empty() &&
      (!posting.contractor_tier || !contains(contractor_tiers, *posting.contractor_tier))) {
    return false;
  }
  if (!countries.empty() &&
      (!posting.client_country || !contains(countries, ascii_lower(*posting.client_country)))) {
    return false;
  }
  return true;
}

bool search_filter::empty() const {
  return terms.empty() && job_types.empty() && contractor_tiers.empty() && countries.empty();
}

std::vector<std::string> split_query_terms(const std::string& query) {
  std::vector<std::string> terms;
  std::string current;
  bool quoted = false;
  auto flush = [&] {
    if (!current.empty()) {
      terms.push_back(ascii_lower(current));
      current.clear();
    }
  };
  for (char c : query) {
    if (c == '"') {
      flush();
      quoted = !quoted;
    } else if (!quoted && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
      flush();
    } else {
      current.push_back(c);
    }
  }
  flush();
  return terms;
}

catalog::catalog(std::vector<source_posting> postings, std::size_t published, std::uint64_t seed,
                 sim_time now)
    : postings_(std::move(postings)), rng_(seed) {
  published = std::min(published, postings_.size());

  // Walk from the newest posting (file line 1) back in time, with gaps of 50% to 150% of the
  // mean so the order stays strict.
  std::uniform_int_distribution<std::int64_t> gap(mean_publish_gap.count() / 2,
                                                  mean_publish_gap.count() * 3 / 2);
  std::vector<sim_time> times(published);
  sim_time at = now - milliseconds{gap(rng_) / 4};
  for (std::size_t i = 0; i < published; ++i) {
    times[i] = at;
    at -= milliseconds{gap(rng_)};
  }

  published_.reserve(postings_.size());
  for (std::size_t i = published; i-- > 0;) {
    published_.push_back(make_publication(i, {times[i], create_time_before(times[i])}));
    note_published(i, times[i], times[i]);
  }
  for (std::size_t i = published; i < postings_.size(); ++i) {
    pool_.push_back(i);
  }
}

catalog::publication catalog::make_publication(std::size_t posting, publication_times times) {
  publication entry;
  entry.posting = posting;
  entry.sequence = next_sequence_++;
  entry.times = times;
  return entry;
}

const std::string& catalog::visitor_json(const publication& entry) const {
  if (entry.visitor_json.empty()) {
    entry.visitor_json = render_visitor_result(postings_[entry.posting], entry.times, {});
  }
  return entry.visitor_json;
}

const std::string& catalog::marketplace_json(const publication& entry) const {
  if (entry.marketplace_json.empty()) {
    entry.marketplace_json = render_marketplace_node(postings_[entry.posting], entry.times);
  }
  return entry.marketplace_json;
}

std::vector<sim_time> catalog::top_times(std::size_t k, sim_time now) const {
  sim_time newest = now;
  if (!published_.empty()) {
    newest = std::max(newest, published_.back().times.publish_time + milliseconds{
                                                                          static_cast<long>(k)});
  }
  std::vector<sim_time> times(k);
  for (std::size_t i = 0; i < k; ++i) {
    times[i] = newest - milliseconds{static_cast<long>(i)};
  }
  return times;
}

sim_time catalog::create_time_before(sim_time publish_time) {
  std::uniform_int_distribution<std::int64_t> lead(200, 90'000);
  return publish_time - milliseconds{lead(rng_)};
}

visitor_page catalog::visitor_search(const search_filter& filter, std::size_t offset,
                                     std::size_t count, bool highlight) const {
  std::lock_guard lock(mutex_);
  visitor_page page;
  std::vector<const publication*> selected;

  if (filter.empty()) {
    page.total = published_.size();
    for (std::size_t i = offset; i < published_.size() && selected.size() < count; ++i) {
      selected.push_back(&published_[published_.size() - 1 - i]);
    }
  } else {
    for (auto it = published_.rbegin(); it != published_.rend(); ++it) {
      if (!filter.matches(postings_[it->posting])) {
        continue;
      }
      if (page.total >= offset && selected.size() < count) {
        selected.push_back(&*it);
      }
      ++page.total;
    }
  }

  page.results.reserve(selected.size());
  for (const publication* entry : selected) {
    if (highlight && !filter.terms.empty()) {
      page.results.push_back(
          render_visitor_result(postings_[entry->posting], entry->times, filter.terms));
    } else {
      page.results.push_back(visitor_json(*entry));
    }
  }
  return page;
}

marketplace_page catalog::marketplace_search(const search_filter& filter,
                                             std::optional<std::uint64_t> after_sequence,
                                             std::size_t first, std::size_t cap) const {
  std::lock_guard lock(mutex_);
  marketplace_page page;
  std::size_t position = 0;  // index of the current match, newest first
  for (auto it = published_.rbegin(); it != published_.rend(); ++it) {
    if (!filter.matches(postings_[it->posting])) {
      continue;
    }
    ++page.total;
    const std::size_t index = position++;
    if (after_sequence && it->sequence >= *after_sequence) {
      continue;
    }
    if (index >= cap) {
      continue;
    }
    if (page.edges.size() < first) {
      page.edges.push_back({encode_cursor(it->sequence), marketplace_json(*it)});
    } else {
      page.has_next_page = true;
    }
  }
  return page;
}

std::size_t catalog::publish(std::size_t n, sim_time now) {
  std::lock_guard lock(mutex_);
  const std::size_t k = std::min(n, pool_.size());
  const auto times = top_times(k, now);

  // times[0] is the newest, so the oldest of the batch goes in first.
  for (std::size_t i = k; i-- > 0;) {
    const std::size_t posting = pool_[i];
    published_.push_back(make_publication(posting, {times[i], create_time_before(times[i])}));
    note_published(posting, times[i], now);
  }
  pool_.erase(pool_.begin(), pool_.begin() + static_cast<std::ptrdiff_t>(k));
  return k;
}

std::size_t catalog::renew(std::size_t n, sim_time now) {
  std::lock_guard lock(mutex_);
  if (published_.size() < 2) {
    return 0;
  }

  // Candidates are every published posting below the top one (the back of published_).
  std::vector<std::size_t> candidates(published_.size() - 1);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    candidates[i] = i;
  }
  std::shuffle(candidates.begin(), candidates.end(), rng_);
  const std::size_t k = std::min(n, candidates.size());
  candidates.resize(k);
  std::sort(candidates.begin(), candidates.end(), std::greater<>());

  std::vector<publication> moved;
  for (std::size_t index : candidates) {
    moved.push_back(std::move(published_[index]));
    published_.erase(published_.begin() + static_cast<std::ptrdiff_t>(index));
  }

  // A renewal keeps the posting's create time and gives it a new publish time.
  const auto times = top_times(k, now);
  for (std::size_t i = k; i-- > 0;) {
    const publication_times renewed{times[i], moved[i].times.create_time};
    published_.push_back(make_publication(moved[i].posting, renewed));
    note_published(moved[i].posting, times[i], now);
  }
  return k;
}

std::size_t catalog::remove(std::size_t n, sim_time now) {
  std::lock_guard lock(mutex_);
  const std::size_t k = std::min(n, published_.size());
  for (std::size_t i = 0; i < k; ++i) {
    std::uniform_int_distribution<std::size_t> pick(0, published_.size() - 1);
    const auto victim = published_.begin() + static_cast<std::ptrdiff_t>(pick(rng_));
    auto entry = history_index_.find(postings_[victim->posting].id);
    if (entry != history_index_.end()) {
      history_[entry->second].deleted_at = now;
    }
    published_.erase(victim);
  }
  return k;
}

std::size_t catalog::add_posting(source_posting posting) {
  std::lock_guard lock(mutex_);
  postings_.push_back(std::move(posting));
  return postings_.size() - 1;
}

void catalog::publish_at(std::size_t index, sim_time publish_time, sim_time now) {
  std::lock_guard lock(mutex_);
  const auto position = std::upper_bound(
      published_.begin(), published_.end(), publish_time,
      [](sim_time at, const publication& entry) { return at < entry.times.publish_time; });
  published_.insert(position,
                    make_publication(index, {publish_time, create_time_before(publish_time)}));
  note_published(index, publish_time, now);
}

std::size_t catalog::posting_count() const {
  std::lock_guard lock(mutex_);
  return postings_.size();
}

source_posting catalog::posting_at(std::size_t index) const {
  std::lock_guard lock(mutex_);
  return postings_.at(index);
}

void catalog::note_published(std::size_t posting, sim_time publish_time, sim_time now) {
  const std::string& id = postings_[posting].id;
  auto [entry, inserted] = history_index_.try_emplace(id, history_.size());
  if (inserted) {
    history_.push_back({id, publish_time, publish_time, now, 0, std::nullopt});
    return;
  }
  auto& record = history_[entry->second];
  record.last_publish_time = publish_time;
  ++record.renewals;
}

nlohmann::ordered_json catalog::history() const {
  std::lock_guard lock(mutex_);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& record : history_) {
    out.push_back({
        {"id", record.id},
        {"publish_time", format_visitor_time(record.first_publish_time)},
        {"last_publish_time", format_visitor_time(record.last_publish_time)},
        {"published_at", format_visitor_time(record.published_at)},
        {"renewals", record.renewals},
        {"deleted_at", record.deleted_at ? nlohmann::ordered_json(format_visitor_time(
                                                *record.deleted_at))
                                         : nlohmann::ordered_json(nullptr)},
    });
  }
  return out;
}

std::vector<std::string> catalog::published_ids() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  ids.reserve(published_.size());
  for (auto it = published_.rbegin(); it != published_.rend(); ++it) {
    ids.push_back(postings_[it->posting].id);
  }
  return ids;
}

std::size_t catalog::published_count() const {
  std::lock_guard lock(mutex_);
  return published_.size();
}

std::size_t catalog::pool_count() const {
  std::lock_guard lock(mutex_);
  return pool_.size();
}

std::optional<std::string> catalog::published_record(const std::string& id) const {
  std::lock_guard lock(mutex_);
  for (const auto& entry : published_) {
    const auto& posting = postings_[entry.posting];
    if (posting.id != id) {
      continue;
    }
    nlohmann::ordered_json record{
        {"record", nlohmann::ordered_json::parse(posting.raw_line)},
        {"publish_time", format_visitor_time(entry.times.publish_time)},
        {"create_time", format_visitor_time(entry.times.create_time)},
        {"cursor", encode_cursor(entry.sequence)},
    };
    return record.dump();
  }
  return std::nullopt;
}

std::string encode_cursor(std::uint64_t sequence) {
  return "c" + std::to_string(sequence);
}

std::optional<std::uint64_t> decode_cursor(const std::string& cursor) {
  if (cursor.size() < 2 || cursor[0] != 'c') {
    return std::nullopt;
  }
  std::uint64_t sequence = 0;
  const char* begin = cursor.data() + 1;
  const char* end = cursor.data() + cursor.size();
  auto [ptr, ec] = std::from_chars(begin, end, sequence);
  if (ec != std::errc{} || ptr != end) {
    return std::nullopt;
  }
  return sequence;
}

}  // namespace job_fetcher::upwork_sim
