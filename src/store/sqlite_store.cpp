// The SQLite job store: one connection, statements prepared once and reused, one BEGIN IMMEDIATE
// transaction per page.
#include "store/sqlite_store.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "store/factories.hpp"

namespace job_fetcher::store {

namespace {

using sqlite::connection;
using sqlite::statement;
using sqlite::statement_scope;

// --- SQL ---

// Parameters ?1 to ?18 are the posting columns in this order. ?19 is the content hash, ?20 the
// feed and ?21 the page's seen_at. bind_posting() fills them for this statement and the next.
constexpr std::string_view insert_posting_sql = R"sql(
INSERT INTO upwork_jobs (id, ciphertext, link, title, description, skills, job_type, hourly_min,
  hourly_max, fixed_budget, currency, contractor_tier, duration_label, workload, client_country,
  published_at, created_at, source, content_hash, feeds, first_seen_at, last_seen_at, revision)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
  json_array(?20), ?21, ?21, 1))sql";

// Appends the feed to the JSON array unless it is already there, keeping first-found order.
#define JF_ADD_FEED(feed_param)                                                            \
  "CASE WHEN EXISTS (SELECT 1 FROM json_each(upwork_jobs.feeds) WHERE value = " feed_param \
  ") THEN feeds ELSE json_insert(feeds, '$[#]', " feed_param ") END"

constexpr std::string_view rewrite_posting_sql =
    "UPDATE upwork_jobs SET ciphertext = ?2, link = ?3, title = ?4, description = ?5, skills = ?6,"
    " job_type = ?7, hourly_min = ?8, hourly_max = ?9, fixed_budget = ?10, currency = ?11,"
    " contractor_tier = ?12, duration_label = ?13, workload = ?14, client_country = ?15,"
    " published_at = ?16, created_at = ?17, source = ?18, content_hash = ?19,"
    " feeds = " JF_ADD_FEED("?20") ", last_seen_at = max(last_seen_at, ?21),"
    " revision = revision + 1 WHERE id = ?1";

constexpr std::string_view touch_posting_sql =
    "UPDATE upwork_jobs SET feeds = " JF_ADD_FEED("?2") ", last_seen_at = max(last_seen_at, ?3)"
    " WHERE id = ?1";

#undef JF_ADD_FEED

constexpr std::string_view stored_hash_sql = "SELECT content_hash FROM upwork_jobs WHERE id = ?1";

constexpr std::string_view save_watermark_sql = R"sql(
INSERT INTO fetch_state (feed, watermark_at, watermark_ids, updated_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (feed) DO UPDATE SET watermark_at = excluded.watermark_at,
  watermark_ids = excluded.watermark_ids, updated_at = excluded.updated_at)sql";

constexpr std::string_view load_watermark_sql =
    "SELECT watermark_at, watermark_ids FROM fetch_state WHERE feed = ?1";

constexpr std::string_view count_page_sql = R"sql(
UPDATE fetch_runs SET api_requests = ?2, pages = ?3, postings_seen = postings_seen + ?4,
  postings_new = postings_new + ?5, postings_updated = postings_updated + ?6
WHERE id = ?1)sql";

// One statement, so the check and the take are atomic even across processes: the row is
// updated only when the lease is free, already ours, or expired.
constexpr std::string_view acquire_lease_sql = R"sql(
INSERT INTO fetch_state (feed, lease_owner, lease_until, updated_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (feed) DO UPDATE SET lease_owner = excluded.lease_owner,
  lease_until = excluded.lease_until, updated_at = excluded.updated_at
WHERE fetch_state.lease_owner IS NULL OR fetch_state.lease_owner = excluded.lease_owner
  OR fetch_state.lease_until < excluded.updated_at)sql";

constexpr std::string_view release_lease_sql = R"sql(
UPDATE fetch_state SET lease_owner = NULL, lease_until = NULL,
  updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE feed = ?1 AND lease_owner = ?2)sql";

constexpr std::string_view begin_run_sql =
    "INSERT INTO fetch_runs (feed, started_at, status) VALUES (?1, ?2, 'running')";

// The caller holds the feed's lease, so a row of the feed still marked running belongs to a
// process that ended without finishing it.
constexpr std::string_view close_abandoned_runs_sql = R"sql(
UPDATE fetch_runs SET status = 'failed', finished_at = ?2,
  error = 'abandoned: the process ended before the run finished (killed, crashed or out of '
       || 'time); a later run repeats its work'
WHERE feed = ?1 AND status = 'running')sql";

constexpr std::string_view finish_run_sql = R"sql(
UPDATE fetch_runs SET finished_at = ?2, status = ?3, error_class = ?4, error = ?5,
  api_requests = ?6, pages = ?7, postings_seen = ?8, postings_new = ?9, postings_updated = ?10,
  gap_from = ?11, gap_to = ?12, gap_estimated = ?13
WHERE id = ?1)sql";

constexpr std::string_view recent_runs_sql = R"sql(
SELECT id, feed, started_at, finished_at, status, error_class, error, api_requests, pages,
  postings_seen, postings_new, postings_updated, gap_from, gap_to, gap_estimated
FROM fetch_runs WHERE ?1 IS NULL OR feed = ?1
ORDER BY started_at DESC, id DESC LIMIT ?2)sql";

constexpr std::string_view newest_published_sql = "SELECT max(published_at) FROM upwork_jobs";

constexpr std::string_view read_token_sql = R"sql(
SELECT token_name, token_value, expires, created_at FROM token_tracker
WHERE token_name = ?1 AND expires * 1000 > ?2
ORDER BY created_at DESC, rowid DESC LIMIT 1)sql";

constexpr std::string_view write_token_sql =
    "INSERT INTO token_tracker (token_name, token_value, expires, created_at) "
    "VALUES (?1, ?2, ?3, ?4)";

constexpr std::string_view read_postings_sql = R"sql(
SELECT id, ciphertext, link, title, description, skills, job_type, hourly_min, hourly_max,
  fixed_budget, currency, contractor_tier, duration_label, workload, client_country, published_at,
  created_at, source, content_hash, feeds, first_seen_at, last_seen_at, revision
FROM upwork_jobs
WHERE ?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(upwork_jobs.feeds) WHERE value = ?2)
ORDER BY published_at DESC, id DESC LIMIT ?1)sql";

// Prune: ?1 is the feed, ?2 the cut-off. A posting is stale for the feed when the feed lists it
// and it was last seen before the cut-off. Stale postings only this feed lists are deleted; the
// others lose the feed from their list.
#define JF_STALE_FOR_FEED                                                            \
  "last_seen_at < ?2 AND EXISTS (SELECT 1 FROM json_each(upwork_jobs.feeds) WHERE value = ?1)"

constexpr std::string_view prune_delete_sql =
    "DELETE FROM upwork_jobs WHERE " JF_STALE_FOR_FEED
    " AND NOT EXISTS (SELECT 1 FROM json_each(upwork_jobs.feeds) WHERE value <> ?1)";

constexpr std::string_view prune_detach_sql =
    "UPDATE upwork_jobs SET feeds = (SELECT coalesce(json_group_array(value), '[]')"
    " FROM (SELECT value FROM json_each(upwork_jobs.feeds) WHERE value <> ?1 ORDER BY key))"
    " WHERE " JF_STALE_FOR_FEED;

#undef JF_STALE_FOR_FEED

// --- values ---

error store_error(std::string message) {
  return make_error(error_class::store, std::move(message));
}

std::string to_json(const std::vector<std::string>& values) {
  // Replacing invalid UTF-8 keeps a bad byte from failing a whole page; the normalizer has
  // already replaced them in practice.
  return nlohmann::json(values).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

result<std::vector<std::string>> from_json(const std::string& text, std::string_view column) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (!parsed.is_array()) {
    return store_error(fmt::format("invalid JSON array in column {}: {}", column, text));
  }
  std::vector<std::string> values;
  values.reserve(parsed.size());
  for (const auto& item : parsed) {
    if (!item.is_string()) {
      return store_error(fmt::format("non-string item in column {}: {}", column, text));
    }
    values.push_back(item.get<std::string>());
  }
  return values;
}

result<timestamp> to_timestamp(const std::string& text, std::string_view column) {
  auto parsed = parse_timestamp(text);
  if (!parsed)
    return store_error(fmt::format("invalid timestamp in column {}: '{}'", column, text));
  return *parsed;
}

result<std::optional<timestamp>> to_optional_timestamp(const std::optional<std::string>& text,
                                                       std::string_view column) {
  if (!text) return std::optional<timestamp>{};
  auto parsed = to_timestamp(*text, column);
  if (!parsed) return std::move(parsed).err();
  return std::optional<timestamp>{*parsed};
}

std::optional<std::string> format_optional(const std::optional<timestamp>& at) {
  if (!at) return std::nullopt;
  return format_timestamp(*at);
}

std::int64_t epoch_ms(timestamp at) { return at.time_since_epoch().count(); }

// Returns the decimal in the form numeric(12,2) stores ("12.5" → "12.50"), or nothing when the
// text is not a decimal with at most 10 integer and 2 fraction digits.
std::optional<std::string> canonical_decimal(std::string_view text) {
  std::string_view rest = text;
  std::string out;
  if (!rest.empty() && rest.front() == '-') {
    out += '-';
    rest.remove_prefix(1);
  }
  auto dot = rest.find('.');
  std::string_view whole = rest.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : rest.substr(dot + 1);

  auto all_digits = [](std::string_view part) {
    return part.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (whole.empty() || whole.size() > 10 || fraction.size() > 2 || !all_digits(whole) ||
      !all_digits(fraction)) {
    return std::nullopt;
  }
  out += whole;
  out += '.';
  out += fraction;
  out.append(2 - fraction.size(), '0');
  return out;
}

// The decimal columns of one posting after validation, in canonical form.
struct posting_decimals {
  std::optional<std::string> hourly_min;
  std::optional<std::string> hourly_max;
  std::optional<std::string> fixed_budget;
};

result<std::optional<std::string>> checked_decimal(const std::optional<std::string>& value,
                                                   std::string_view column,
                                                   const upwork::posting& posting) {
  if (!value) return std::optional<std::string>{};
  auto canonical = canonical_decimal(*value);
  if (!canonical) {
    return store_error(
        fmt::format("invalid decimal '{}' in {} of posting {}; expected text such as 12.50",
                    *value, column, posting.id));
  }
  return canonical;
}

result<posting_decimals> check_posting(const upwork::posting& posting) {
  if (posting.id.empty()) return store_error("posting without id; normalize postings first");
  if (posting.content_hash.empty()) {
    return store_error(
        fmt::format("posting {} has no content_hash; normalize postings first", posting.id));
  }
  auto hourly_min = checked_decimal(posting.hourly_min, "hourly_min", posting);
  if (!hourly_min) return std::move(hourly_min).err();
  auto hourly_max = checked_decimal(posting.hourly_max, "hourly_max", posting);
  if (!hourly_max) return std::move(hourly_max).err();
  auto fixed_budget = checked_decimal(posting.fixed_budget, "fixed_budget", posting);
  if (!fixed_budget) return std::move(fixed_budget).err();
  return posting_decimals{*hourly_min, *hourly_max, *fixed_budget};
}

// A distinct posting of a page (the last one of its id) with its checked decimals.
struct page_row {
  const upwork::posting* posting;
  posting_decimals decimals;
};

// Keeps the last posting of each id, in the order ids first appear, and checks each one.
result<std::vector<page_row>> distinct_rows(const std::vector<upwork::posting>& postings) {
  std::unordered_map<std::string_view, std::size_t> index_of_id;
  std::vector<page_row> rows;
  rows.reserve(postings.size());
  for (const auto& posting : postings) {
    auto checked = check_posting(posting);
    if (!checked) return std::move(checked).err();

    auto [it, inserted] = index_of_id.try_emplace(posting.id, rows.size());
    if (inserted) {
      rows.push_back({&posting, std::move(*checked)});
    } else {
      rows[it->second] = {&posting, std::move(*checked)};
    }
  }
  return rows;
}

void bind_posting(statement& stmt, const page_row& row, const std::string& feed,
                  const std::string& seen_at) {
  const upwork::posting& p = *row.posting;
  stmt.bind(1, p.id)
      .bind(2, p.ciphertext)
      .bind(3, p.link)
      .bind(4, p.title)
      .bind(5, p.description)
      .bind(6, to_json(p.skills))
      .bind(7, p.job_type)
      .bind(8, row.decimals.hourly_min)
      .bind(9, row.decimals.hourly_max)
      .bind(10, row.decimals.fixed_budget)
      .bind(11, p.currency)
      .bind(12, p.contractor_tier)
      .bind(13, p.duration_label)
      .bind(14, p.workload)
      .bind(15, p.client_country)
      .bind(16, format_timestamp(p.published_at))
      .bind(17, format_optional(p.created_at))
      .bind(18, p.source)
      .bind(19, p.content_hash)
      .bind(20, feed)
      .bind(21, seen_at);
}

result<stored_posting> read_posting_row(const statement& row) {
  stored_posting out;
  upwork::posting& p = out.posting;
  p.id = row.text(0);
  p.ciphertext = row.text(1);
  p.link = row.text(2);
  p.title = row.text(3);
  p.description = row.text(4);
  auto skills = from_json(row.text(5), "skills");
  if (!skills) return std::move(skills).err();
  p.skills = std::move(*skills);
  p.job_type = row.optional_text(6);
  p.hourly_min = row.optional_text(7);
  p.hourly_max = row.optional_text(8);
  p.fixed_budget = row.optional_text(9);
  p.currency = row.text(10);
  p.contractor_tier = row.optional_text(11);
  p.duration_label = row.optional_text(12);
  p.workload = row.optional_text(13);
  p.client_country = row.optional_text(14);
  auto published = to_timestamp(row.text(15), "published_at");
  if (!published) return std::move(published).err();
  p.published_at = *published;
  auto created = to_optional_timestamp(row.optional_text(16), "created_at");
  if (!created) return std::move(created).err();
  p.created_at = *created;
  p.source = row.text(17);
  p.content_hash = row.text(18);

  auto feeds = from_json(row.text(19), "feeds");
  if (!feeds) return std::move(feeds).err();
  out.feeds = std::move(*feeds);
  auto first_seen = to_timestamp(row.text(20), "first_seen_at");
  if (!first_seen) return std::move(first_seen).err();
  out.first_seen_at = *first_seen;
  auto last_seen = to_timestamp(row.text(21), "last_seen_at");
  if (!last_seen) return std::move(last_seen).err();
  out.last_seen_at = *last_seen;
  out.revision = row.int64(22);
  return out;
}

result<run_record> read_run_row(const statement& row) {
  run_record run;
  run.id = row.int64(0);
  run.feed = row.text(1);
  auto started = to_timestamp(row.text(2), "started_at");
  if (!started) return std::move(started).err();
  run.started_at = *started;
  auto finished = to_optional_timestamp(row.optional_text(3), "finished_at");
  if (!finished) return std::move(finished).err();
  run.finished_at = *finished;
  run.status = row.text(4);
  run.error_class = row.optional_text(5);
  run.error = row.optional_text(6);
  run.api_requests = row.int64(7);
  run.pages = row.int64(8);
  run.postings_seen = row.int64(9);
  run.postings_new = row.int64(10);
  run.postings_updated = row.int64(11);
  if (!row.is_null(12) && !row.is_null(13)) {
    auto from = to_timestamp(row.text(12), "gap_from");
    if (!from) return std::move(from).err();
    auto to = to_timestamp(row.text(13), "gap_to");
    if (!to) return std::move(to).err();
    run.gap = coverage_gap{*from, *to, row.is_null(14) ? 0 : row.int64(14)};
  }
  return run;
}

// --- the store ---

class sqlite_job_store final : public job_store {
 public:
  explicit sqlite_job_store(connection db) : db_(std::move(db)) {}

  result<void> migrate() override { return sqlite::migrate_schema(db_); }
  result<schema_versions> schema_version() override;

  result<bool> acquire_lease(const std::string& feed, const std::string& owner, timestamp now,
                             timestamp until) override {
    auto stmt = cached(acquire_lease_sql);
    if (!stmt) return std::move(stmt).err();
    statement_scope scope(**stmt);

    (*stmt)->bind(1, feed).bind(2, owner);
    (*stmt)->bind(3, format_timestamp(until)).bind(4, format_timestamp(now));
    auto done = (*stmt)->step();
    if (!done) return std::move(done).err();
    return changes() == 1;
  }

  result<void> release_lease(const std::string& feed, const std::string& owner) override {
    return run_update(release_lease_sql, [&](statement& s) { s.bind(1, feed).bind(2, owner); });
  }

  result<std::optional<watermark>> load_watermark(const std::string& feed) override;
  result<std::int64_t> begin_run(const std::string& feed, timestamp started_at) override;
  result<upsert_counts> write_page(const page_write& page) override;
  result<void> finish_run(const run_record& run) override;
  result<std::vector<run_record>> recent_runs(const std::optional<std::string>& feed,
                                              int limit) override;
  result<std::optional<timestamp>> newest_published_at() override;
  result<std::optional<cached_token>> read_token(const std::string& name, timestamp now) override;
  result<void> write_token(const cached_token& token) override;
  using job_store::read_postings;
  result<std::vector<stored_posting>> read_postings(
      int limit, const std::optional<std::string>& feed) override;
  result<std::int64_t> prune(const std::string& feed, timestamp older_than) override;

 private:
  // Returns the statement for `sql`, preparing it on first use. `sql` must be one of the
  // constants above, because the cache keys on its text.
  result<statement*> cached(std::string_view sql) {
    auto found = statements_.find(sql);
    if (found != statements_.end()) return &found->second;

    auto prepared = statement::prepare(db_, sql);
    if (!prepared) return std::move(prepared).err();
    auto [it, inserted] = statements_.emplace(sql, std::move(*prepared));
    return &it->second;
  }

  // Runs a statement that returns no rows, after `bind` has set its parameters.
  template <class Binder>
  result<void> run_update(std::string_view sql, Binder&& bind) {
    auto stmt = cached(sql);
    if (!stmt) return std::move(stmt).err();
    statement_scope scope(**stmt);
    bind(**stmt);
    auto done = (*stmt)->step();
    if (!done) return std::move(done).err();
    return {};
  }

  std::int64_t changes() const;
  result<upsert_counts> upsert_rows(const std::vector<page_row>& rows, const page_write& page);
  result<void> save_watermark(const page_write& page);
  result<void> count_page(const page_write& page, std::int64_t distinct,
                          const upsert_counts& counts);

  connection db_;
  std::unordered_map<std::string_view, statement> statements_;
};

std::int64_t sqlite_job_store::changes() const { return sqlite3_changes64(db_.handle()); }

result<upsert_counts> sqlite_job_store::write_page(const page_write& page) {
  auto rows = distinct_rows(page.postings);
  if (!rows) return std::move(rows).err();

  auto txn = sqlite::transaction::begin_immediate(db_);
  if (!txn) return std::move(txn).err();

  auto counts = upsert_rows(*rows, page);
  if (!counts) return std::move(counts).err();

  if (page.new_watermark) {
    auto saved = save_watermark(page);
    if (!saved) return std::move(saved).err();
  }

  auto counted = count_page(page, static_cast<std::int64_t>(rows->size()), *counts);
  if (!counted) return std::move(counted).err();

  auto committed = txn->commit();
  if (!committed) return std::move(committed).err();
  return *counts;
}

result<upsert_counts> sqlite_job_store::upsert_rows(const std::vector<page_row>& rows,
                                                    const page_write& page) {
  auto lookup = cached(stored_hash_sql);
  if (!lookup) return std::move(lookup).err();
  auto insert = cached(insert_posting_sql);
  if (!insert) return std::move(insert).err();
  auto rewrite = cached(rewrite_posting_sql);
  if (!rewrite) return std::move(rewrite).err();
  auto touch = cached(touch_posting_sql);
  if (!touch) return std::move(touch).err();

  const std::string seen_at = format_timestamp(page.seen_at);
  upsert_counts counts;
  for (const auto& row : rows) {
    const upwork::posting& posting = *row.posting;

    std::optional<std::string> stored_hash;
    {
      statement_scope scope(**lookup);
      auto found = (*lookup)->bind(1, posting.id).step();
      if (!found) return std::move(found).err();
      if (*found) stored_hash = (*lookup)->text(0);
    }

    statement* write = nullptr;
    if (!stored_hash) {
      write = *insert;
      ++counts.inserted;
    } else if (*stored_hash != posting.content_hash) {
      write = *rewrite;
      ++counts.updated;
    } else {
      write = *touch;
      ++counts.unchanged;
    }

    statement_scope scope(*write);
    if (write == *touch) {
      write->bind(1, posting.id).bind(2, page.feed).bind(3, seen_at);
    } else {
      bind_posting(*write, row, page.feed, seen_at);
    }
    auto done = write->step();
    if (!done) return std::move(done).err();
  }
  return counts;
}

result<void> sqlite_job_store::save_watermark(const page_write& page) {
  const watermark& mark = *page.new_watermark;
  return run_update(save_watermark_sql, [&](statement& s) {
    s.bind(1, page.feed)
        .bind(2, format_timestamp(mark.at))
        .bind(3, to_json(mark.ids))
        .bind(4, format_timestamp(page.seen_at));
  });
}

result<void> sqlite_job_store::count_page(const page_write& page, std::int64_t distinct,
                                          const upsert_counts& counts) {
  // run_id 0 is a page written outside a run (a test or a manual import): no ledger row to count.
  if (page.run_id == 0) return {};

  auto updated = run_update(count_page_sql, [&](statement& s) {
    s.bind(1, page.run_id)
        .bind(2, page.api_requests)
        .bind(3, page.pages)
        .bind(4, distinct)
        .bind(5, counts.inserted)
        .bind(6, counts.updated);
  });
  if (!updated) return updated;
  if (changes() != 1) {
    return store_error(
        fmt::format("run {} not found in fetch_runs; start it with begin_run", page.run_id));
  }
  return {};
}

result<std::optional<watermark>> sqlite_job_store::load_watermark(const std::string& feed) {
  auto stmt = cached(load_watermark_sql);
  if (!stmt) return std::move(stmt).err();
  statement_scope scope(**stmt);

  auto found = (*stmt)->bind(1, feed).step();
  if (!found) return std::move(found).err();
  if (!*found || (*stmt)->is_null(0)) return std::optional<watermark>{};

  auto at = to_timestamp((*stmt)->text(0), "watermark_at");
  if (!at) return std::move(at).err();
  std::vector<std::string> ids;
  if (!(*stmt)->is_null(1)) {
    auto parsed = from_json((*stmt)->text(1), "watermark_ids");
    if (!parsed) return std::move(parsed).err();
    ids = std::move(*parsed);
  }
  return std::optional<watermark>{watermark{*at, std::move(ids)}};
}

result<std::int64_t> sqlite_job_store::begin_run(const std::string& feed, timestamp started_at) {
  auto txn = sqlite::transaction::begin_immediate(db_);
  if (!txn) return std::move(txn).err();
  auto bind = [&](statement& s) { s.bind(1, feed).bind(2, format_timestamp(started_at)); };
  if (auto closed = run_update(close_abandoned_runs_sql, bind); !closed) {
    return std::move(closed).err();
  }
  if (auto inserted = run_update(begin_run_sql, bind); !inserted) {
    return std::move(inserted).err();
  }
  auto id = static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_.handle()));
  if (auto committed = txn->commit(); !committed) return std::move(committed).err();
  return id;
}

result<void> sqlite_job_store::finish_run(const run_record& run) {
  auto updated = run_update(finish_run_sql, [&](statement& s) {
    s.bind(1, run.id)
        .bind(2, format_optional(run.finished_at))
        .bind(3, run.status)
        .bind(4, run.error_class)
        .bind(5, run.error)
        .bind(6, run.api_requests)
        .bind(7, run.pages)
        .bind(8, run.postings_seen)
        .bind(9, run.postings_new)
        .bind(10, run.postings_updated);
    if (run.gap) {
      s.bind(11, format_timestamp(run.gap->from))
          .bind(12, format_timestamp(run.gap->to))
          .bind(13, run.gap->estimated_count);
    } else {
      s.bind_null(11).bind_null(12).bind_null(13);
    }
  });
  if (!updated) return updated;
  if (changes() != 1) {
    return store_error(
        fmt::format("run {} not found in fetch_runs; start it with begin_run", run.id));
  }
  return {};
}

result<std::vector<run_record>> sqlite_job_store::recent_runs(
    const std::optional<std::string>& feed, int limit) {
  auto stmt = cached(recent_runs_sql);
  if (!stmt) return std::move(stmt).err();
  statement_scope scope(**stmt);

  (*stmt)->bind(1, feed).bind(2, static_cast<std::int64_t>(std::max(limit, 0)));
  std::vector<run_record> runs;
  while (true) {
    auto row = (*stmt)->step();
    if (!row) return std::move(row).err();
    if (!*row) break;
    auto run = read_run_row(**stmt);
    if (!run) return std::move(run).err();
    runs.push_back(std::move(*run));
  }
  return runs;
}

result<std::optional<timestamp>> sqlite_job_store::newest_published_at() {
  auto stmt = cached(newest_published_sql);
  if (!stmt) return std::move(stmt).err();
  statement_scope scope(**stmt);

  auto row = (*stmt)->step();
  if (!row) return std::move(row).err();
  return to_optional_timestamp((*stmt)->optional_text(0), "published_at");
}

result<std::optional<cached_token>> sqlite_job_store::read_token(const std::string& name,
                                                                 timestamp now) {
  auto stmt = cached(read_token_sql);
  if (!stmt) return std::move(stmt).err();
  statement_scope scope(**stmt);

  auto found = (*stmt)->bind(1, name).bind(2, epoch_ms(now)).step();
  if (!found) return std::move(found).err();
  if (!*found) return std::optional<cached_token>{};

  auto created = to_timestamp((*stmt)->text(3), "created_at");
  if (!created) return std::move(created).err();
  cached_token token{(*stmt)->text(0), secret((*stmt)->text(1)), (*stmt)->int64(2), *created};
  return std::optional<cached_token>{std::move(token)};
}

result<void> sqlite_job_store::write_token(const cached_token& token) {
  return run_update(write_token_sql, [&](statement& s) {
    s.bind(1, token.name)
        .bind(2, token.value.reveal())
        .bind(3, token.expires)
        .bind(4, format_timestamp(token.created_at));
  });
}

result<schema_versions> sqlite_job_store::schema_version() {
  schema_versions versions;
  versions.latest = sqlite::latest_schema_version();
  auto table = statement::prepare(
      db_, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
  if (!table) return std::move(table).err();
  auto found = table->step();
  if (!found) return std::move(found).err();
  if (table->int64(0) == 0) return versions;

  auto applied = statement::prepare(db_, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!applied) return std::move(applied).err();
  auto row = applied->step();
  if (!row) return std::move(row).err();
  versions.current = static_cast<int>(applied->int64(0));
  return versions;
}

result<std::vector<stored_posting>> sqlite_job_store::read_postings(
    int limit, const std::optional<std::string>& feed) {
  auto stmt = cached(read_postings_sql);
  if (!stmt) return std::move(stmt).err();
  statement_scope scope(**stmt);

  (*stmt)->bind(1, static_cast<std::int64_t>(std::max(limit, 0))).bind(2, feed);
  std::vector<stored_posting> postings;
  while (true) {
    auto row = (*stmt)->step();
    if (!row) return std::move(row).err();
    if (!*row) break;
    auto posting = read_posting_row(**stmt);
    if (!posting) return std::move(posting).err();
    postings.push_back(std::move(*posting));
  }
  return postings;
}

result<std::int64_t> sqlite_job_store::prune(const std::string& feed, timestamp older_than) {
  auto txn = sqlite::transaction::begin_immediate(db_);
  if (!txn) return std::move(txn).err();

  const std::string cutoff = format_timestamp(older_than);
  std::int64_t released = 0;
  for (auto sql : {prune_delete_sql, prune_detach_sql}) {
    auto done = run_update(sql, [&](statement& s) { s.bind(1, feed).bind(2, cutoff); });
    if (!done) return std::move(done).err();
    released += changes();
  }

  auto committed = txn->commit();
  if (!committed) return std::move(committed).err();
  return released;
}

// Returns a config error when the database file at `path` could not be created or written, so
// the operator sees the path and the fix instead of SQLite's "unable to open database file".
std::optional<error> check_writable(const std::string& path) {
  namespace fs = std::filesystem;
  if (path == ":memory:") return std::nullopt;

  std::error_code ec;
  fs::path file(path);
  fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  if (!fs::is_directory(dir, ec)) {
    return make_error(error_class::config,
                      fmt::format("SQLite database directory {} does not exist or is not a "
                                  "directory; create it or set the store URL to sqlite:PATH in "
                                  "an existing directory",
                                  dir.string()));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return make_error(error_class::config,
                      fmt::format("SQLite database directory {} is not writable; grant write "
                                  "access or set the store URL to sqlite:PATH elsewhere",
                                  dir.string()));
  }
  if (fs::is_directory(file, ec)) {
    return make_error(error_class::config,
                      fmt::format("SQLite database path {} is a directory; set the store URL to "
                                  "sqlite:PATH naming a file, for example sqlite:{}/job-fetcher.db",
                                  path, path));
  }
  if (fs::exists(file, ec) && ::access(file.c_str(), R_OK | W_OK) != 0) {
    return make_error(error_class::config,
                      fmt::format("SQLite database file {} is not readable and writable; fix its "
                                  "permissions or set the store URL to sqlite:PATH elsewhere",
                                  path));
  }
  return std::nullopt;
}

}  // namespace

result<std::unique_ptr<job_store>> make_sqlite_store(const std::string& path, bool existing_only) {
  if (path.empty()) {
    return make_error(error_class::config,
                      "SQLite database path is empty; set the store URL to sqlite:PATH, for "
                      "example sqlite:./job-fetcher.db");
  }
  if (auto unwritable = check_writable(path)) return *unwritable;

  auto db = connection::open(path, existing_only);
  if (!db) return std::move(db).err();
  return std::unique_ptr<job_store>(std::make_unique<sqlite_job_store>(std::move(*db)));
}

}  // namespace job_fetcher::store
