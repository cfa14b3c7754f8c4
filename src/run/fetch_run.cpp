#include "run/fetch_run.hpp"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

#include "core/log.hpp"
#include "run/page_writer.hpp"

namespace job_fetcher::run {

namespace {

// Pages waiting for the writer; two keep the writer busy while bounding memory.
constexpr std::size_t write_queue_pages = 2;

// State of one run's paging, kept together so each step is a small function.
struct paging_state {
  std::optional<store::watermark> previous;  // nothing on the first run of a feed
  std::optional<timestamp> floor;            // previous watermark minus skew
  std::unordered_set<std::string> seen;      // ids met in this run
  std::int64_t accepted = 0;                 // distinct postings queued for writing
  std::optional<timestamp> newest;
  std::vector<std::string> newest_ids;
  std::optional<timestamp> oldest_reached;
  page_cursor cursor;
  std::int64_t last_total = -1;
  bool complete = false;  // coverage reached the floor, the backfill or the end of results
};

bool is_known_at_watermark(const paging_state& state, const upwork::posting& posting) {
  if (!state.previous || posting.published_at != state.previous->at) return false;
  const auto& ids = state.previous->ids;
  return std::find(ids.begin(), ids.end(), posting.id) != ids.end();
}

void note_newest(paging_state& state, const upwork::posting& posting) {
  if (!state.newest || posting.published_at > *state.newest) {
    state.newest = posting.published_at;
    state.newest_ids = {posting.id};
  } else if (posting.published_at == *state.newest) {
    if (std::find(state.newest_ids.begin(), state.newest_ids.end(), posting.id) ==
        state.newest_ids.end()) {
      state.newest_ids.push_back(posting.id);
    }
  }
}

// Picks the postings of a page that this run must write, and updates the coverage state.
std::vector<upwork::posting> select_postings(paging_state& state, upwork::page& page,
                                             const run_options& options) {
  std::vector<upwork::posting> selected;
  selected.reserve(page.postings.size());
  for (auto& posting : page.postings) {
    if (!state.oldest_reached || posting.published_at < *state.oldest_reached) {
      state.oldest_reached = posting.published_at;
    }
    if (!state.seen.insert(posting.id).second) continue;  // shifted down: met on an earlier page
    if (!state.previous && state.accepted >= options.backfill) {
      // A backfill of 0 starts the feed now: nothing is stored, but the watermark must still
      // move to the newest posting, or every later run would be a first run again.
      if (options.backfill == 0) note_newest(state, posting);
      continue;
    }
    if (state.floor && posting.published_at < *state.floor) continue;  // covered by earlier runs
    note_newest(state, posting);
    if (is_known_at_watermark(state, posting)) continue;
    ++state.accepted;
    selected.push_back(std::move(posting));
  }
  return selected;
}

// Decides whether the coverage is complete after `page`.
bool coverage_complete(const paging_state& state, const upwork::page& page,
                       const run_options& options, std::int64_t requested) {
  bool end_of_results = options.cursor_paging
                            ? !page.has_next_page
                            : static_cast<std::int64_t>(page.postings.size()) < requested;
  if (end_of_results) return true;
  if (!state.previous) return state.accepted >= options.backfill;
  return state.oldest_reached && state.floor && *state.oldest_reached < *state.floor;
}

// Returns a bad_response error when a marketplace page promises more results under the cursor
// it was requested with: following it would request the same page again and again.
std::optional<error> repeated_cursor(const paging_state& state, const upwork::page& page,
                                     const run_options& options) {
  if (!options.cursor_paging || !page.has_next_page) return std::nullopt;
  if (!page.end_cursor.empty() && page.end_cursor != state.cursor.after) return std::nullopt;
  error failure = make_error(
      error_class::bad_response,
      fmt::format("the marketplace returned hasNextPage true with endCursor \"{}\", the cursor "
                  "the page was requested with; paging stops instead of repeating that page",
                  page.end_cursor));
  failure.json_path = "$.data.marketplaceJobPostingsSearch.pageInfo.endCursor";
  return failure;
}

// Moves the cursor past `page`. When the total shrank since the previous page, postings were
// removed above the cursor and the list shifted up by as much as the shrink: the next read starts
// that far back, so no posting slips between two pages.
// Returns true when it scheduled such a re-read.
bool advance_cursor(paging_state& state, const upwork::page& page, const run_options& options,
                    std::int64_t requested) {
  if (options.cursor_paging) {
    state.cursor.after = page.end_cursor;
    state.last_total = page.total;
    return false;
  }
  bool shrank = state.last_total >= 0 && page.total < state.last_total;
  std::int64_t shift = shrank ? state.last_total - page.total : 0;
  state.last_total = page.total;
  state.cursor.offset = std::max<std::int64_t>(0, state.cursor.offset + requested - shift);
  if (shrank) {
    log::info("fetch", "result total shrank between pages, re-reading the boundary",
              {{"removed", shift}, {"next_offset", state.cursor.offset}});
  }
  return shrank;
}

// Estimates how many postings lie in the gap from the density the run observed.
std::int64_t estimate_gap_count(const paging_state& state, const store::coverage_gap& gap) {
  if (!state.newest || !state.oldest_reached || state.seen.empty()) return 0;
  auto covered = *state.newest - *state.oldest_reached;
  auto missing = gap.to - gap.from;
  if (covered.count() <= 0 || missing.count() <= 0) return 0;
  double per_ms = static_cast<double>(state.seen.size()) / static_cast<double>(covered.count());
  return static_cast<std::int64_t>(per_ms * static_cast<double>(missing.count()) + 0.5);
}

std::optional<std::string> stop_before_next_page(const paging_state& state,
                                                 const run_options& options,
                                                 const run_summary& summary, clock_source& clock) {
  if (options.stop_requested && options.stop_requested()) return "stopped";
  if (summary.pages >= options.max_pages) return "max_pages";
  if (clock.steady_now() + options.safety_margin >= options.deadline) return "deadline";
  if (!options.cursor_paging && state.cursor.offset >= options.offset_cap) return "offset_cap";
  return std::nullopt;
}

// True when a page request failed because the run's deadline cut it short (the page source caps
// each request's timeout by the time left): the run ends partial, as if it had stopped before
// that page, rather than failed.
bool cut_by_deadline(const error& failure, const clock_source& clock,
                     std::chrono::steady_clock::time_point fetch_deadline) {
  return failure.kind == error_class::transient && clock.steady_now() >= fetch_deadline;
}

run_status status_for(const error& failure) {
  return failure.kind == error_class::blocked ? run_status::blocked : run_status::failed;
}

store::run_record make_record(const run_summary& summary, timestamp started_at,
                              timestamp finished_at) {
  store::run_record record;
  record.id = summary.run_id;
  record.feed = summary.feed;
  record.started_at = started_at;
  record.finished_at = finished_at;
  record.status = std::string(to_string(summary.status));
  if (summary.failure) {
    record.error_class = std::string(to_string(summary.failure->kind));
    record.error = summary.failure->describe();
  }
  record.api_requests = summary.api_requests;
  record.pages = summary.pages;
  record.postings_seen = summary.postings_seen;
  record.postings_new = summary.postings_new;
  record.postings_updated = summary.postings_updated;
  record.gap = summary.gap;
  return record;
}

// Pages through the source until coverage is complete, a limit stops it, or a request fails.
void page_through(paging_state& state, page_source& source, page_writer& writer,
                  clock_source& clock, const run_options& options, run_summary& summary) {
  bool rereading = false;
  for (;;) {
    if (auto reason = stop_before_next_page(state, options, summary, clock)) {
      summary.stop_reason = *reason;
      return;
    }
    std::int64_t requested = options.page_size;
    if (!options.cursor_paging) {
      requested = std::min<std::int64_t>(requested, options.offset_cap - state.cursor.offset);
    }
    state.cursor.count = static_cast<int>(requested);

    auto fetch_deadline = options.deadline - options.safety_margin;
    auto page = source.fetch(state.cursor, fetch_deadline);
    summary.api_requests = source.requests();
    if (!page && !page.err().stop_reason.empty()) {
      log::warn("fetch", "a limit of the run stops paging",
                {{"reason", page.err().stop_reason}, {"error", page.err().message}});
      summary.stop_reason = page.err().stop_reason;
      return;
    }
    if (!page && cut_by_deadline(page.err(), clock, fetch_deadline)) {
      log::warn("fetch", "the deadline came while a page was in flight, stopping",
                {{"error", page.err().describe()}});
      summary.stop_reason = "deadline";
      return;
    }
    if (!page) {
      summary.failure = std::move(page).err();
      summary.stop_reason = "error";
      return;
    }
    ++summary.pages;
    if (auto stuck = repeated_cursor(state, *page, options)) {
      summary.failure = std::move(stuck);
      summary.stop_reason = "error";
      return;
    }

    auto selected = select_postings(state, *page, options);
    bool complete = coverage_complete(state, *page, options, requested);
    rereading = advance_cursor(state, *page, options, requested);
    // A re-read is due before the run may call its coverage complete.
    state.complete = complete && !rereading;

    store::page_write write;
    write.feed = options.feed;
    write.run_id = summary.run_id;
    write.postings = std::move(selected);
    write.seen_at = clock.now();
    write.api_requests = summary.api_requests;
    write.pages = summary.pages;
    if (state.complete && state.newest) {
      write.new_watermark = store::watermark{*state.newest, state.newest_ids};
    }
    if (!writer.push(std::move(write))) {
      summary.stop_reason = "store";
      return;
    }
    if (options.on_page) options.on_page(summary.pages, writer.totals().inserted);
    if (state.complete) {
      summary.stop_reason = state.previous ? "watermark" : "backfill";
      return;
    }
  }
}

void record_gap(paging_state& state, run_summary& summary) {
  if (state.complete || summary.failure) return;
  store::coverage_gap gap;
  gap.to = state.oldest_reached.value_or(state.newest.value_or(timestamp{}));
  gap.from = state.previous ? state.previous->at : gap.to;
  gap.estimated_count = state.previous ? estimate_gap_count(state, gap) : 0;
  summary.gap = gap;
  summary.status = run_status::partial;
}

}  // namespace

std::string_view to_string(run_status status) noexcept {
  switch (status) {
    case run_status::ok: return "ok";
    case run_status::partial: return "partial";
    case run_status::skipped: return "skipped";
    case run_status::failed: return "failed";
    case run_status::blocked: return "blocked";
  }
  return "failed";
}

int status_exit_code(run_status status) noexcept {
  switch (status) {
    case run_status::ok: return 0;
    case run_status::failed: return 1;
    case run_status::blocked: return 3;
    case run_status::skipped: return 4;
    case run_status::partial: return 5;
  }
  return 1;
}

nlohmann::json run_summary::to_json() const {
  nlohmann::json out = {
      {"status", to_string(status)},
      {"feed", feed},
      {"run_id", run_id},
      {"pages", pages},
      {"api_requests", api_requests},
      {"postings_seen", postings_seen},
      {"postings_new", postings_new},
      {"postings_updated", postings_updated},
      {"gap", nullptr},
      {"stop_reason", stop_reason},
      {"duration_ms", duration.count()},
  };
  if (gap) {
    out["gap"] = {{"from", format_timestamp(gap->from)},
                  {"to", format_timestamp(gap->to)},
                  {"estimated_count", gap->estimated_count}};
  }
  if (failure) {
    out["error_class"] = to_string(failure->kind);
    out["error"] = failure->describe();
  }
  return out;
}

std::string run_summary::to_text() const {
  std::string text = fmt::format(
      "feed {}: {} — {} new, {} updated, {} seen; {} page{}, {} API request{}, {} ms", feed,
      to_string(status), postings_new, postings_updated, postings_seen, pages,
      pages == 1 ? "" : "s", api_requests, api_requests == 1 ? "" : "s", duration.count());
  if (gap) {
    text += fmt::format("\n  gap: about {} postings between {} and {} not covered yet ({})",
                        gap->estimated_count, format_timestamp(gap->from),
                        format_timestamp(gap->to), stop_reason);
  }
  if (failure) text += fmt::format("\n  error: {}", failure->describe());
  return text;
}

run_summary execute_run(store::job_store& store, page_source& source, clock_source& clock,
                        const run_options& options) {
  run_summary summary;
  summary.feed = options.feed;
  auto started = clock.steady_now();
  auto started_at = clock.now();
  auto finish = [&](run_summary& s) -> run_summary& {
    s.duration = std::chrono::duration_cast<std::chrono::milliseconds>(clock.steady_now() - started);
    return s;
  };

  auto lease = store.acquire_lease(options.feed, options.owner, started_at,
                                   started_at + options.lease);
  if (!lease) {
    summary.status = run_status::failed;
    summary.failure = lease.err();
    return finish(summary);
  }
  if (!*lease) {
    log::info("run", "skipped: another run has the feed's lease", {{"feed", options.feed}});
    summary.status = run_status::skipped;
    summary.stop_reason = "lease";
    return finish(summary);
  }

  auto run_id = store.begin_run(options.feed, started_at);
  auto previous = run_id ? store.load_watermark(options.feed)
                         : result<std::optional<store::watermark>>(run_id.err());
  if (!previous) {
    summary.status = run_status::failed;
    summary.failure = previous.err();
    (void)store.release_lease(options.feed, options.owner);
    return finish(summary);
  }
  summary.run_id = *run_id;
  log::set_context("run_id", summary.run_id);

  paging_state state;
  state.previous = *previous;
  if (state.previous) {
    state.floor = state.previous->at - options.skew;
    // The watermark never moves back, even when the postings at it were removed since.
    state.newest = state.previous->at;
    state.newest_ids = state.previous->ids;
  }
  state.cursor.count = options.page_size;

  {
    page_writer writer(store, write_queue_pages);
    page_through(state, source, writer, clock, options, summary);
    auto written = writer.finish();
    if (!written && !summary.failure) summary.failure = written.err();
    if (!written) state.complete = false;
    auto totals = writer.totals();
    summary.postings_new = totals.inserted;
    summary.postings_updated = totals.updated;
  }
  summary.postings_seen = static_cast<std::int64_t>(state.seen.size());
  summary.api_requests = source.requests();
  if (summary.failure) summary.status = status_for(*summary.failure);
  record_gap(state, summary);
  finish(summary);

  auto recorded = store.finish_run(make_record(summary, started_at, clock.now()));
  if (!recorded) {
    log::error("run", "could not record the run in the ledger", {{"error", recorded.err().describe()}});
    if (!summary.failure) {
      summary.failure = recorded.err();
      summary.status = run_status::failed;
    }
  }
  auto released = store.release_lease(options.feed, options.owner);
  if (!released) {
    log::warn("run", "could not release the lease; it expires by itself",
              {{"error", released.err().describe()}});
  }
  return summary;
}

}  // namespace job_fetcher::run
