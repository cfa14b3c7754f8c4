// The SQLite schema as a list of versioned migrations. A migration is never edited once released:
// a schema change is a new entry at the end.
//
// Column conventions: decimals are exact TEXT ("12.50"), because SQLite has no decimal type and a
// NUMERIC or REAL column would turn them into floating point. Timestamps are ISO-8601 UTC TEXT
// with milliseconds ("2025-06-15T18:59:18.224Z"), which sorts in time order. Arrays (skills,
// feeds, watermark ids) are JSON array TEXT.
#include <array>

#include "store/sqlite_store.hpp"

namespace job_fetcher::store::sqlite {

namespace {

struct migration {
  int version;
  const char* sql;
};

constexpr const char* schema_v1 = R"sql(
CREATE TABLE upwork_jobs (
  id               TEXT PRIMARY KEY NOT NULL,
  ciphertext       TEXT NOT NULL UNIQUE,
  link             TEXT NOT NULL,
  title            TEXT NOT NULL,
  description      TEXT NOT NULL,
  skills           TEXT NOT NULL DEFAULT '[]',
  job_type         TEXT,
  hourly_min       TEXT,
  hourly_max       TEXT,
  fixed_budget     TEXT,
  currency         TEXT NOT NULL DEFAULT 'USD',
  contractor_tier  TEXT,
  duration_label   TEXT,
  workload         TEXT,
  client_country   TEXT,
  published_at     TEXT NOT NULL,
  created_at       TEXT,
  source           TEXT NOT NULL,
  feeds            TEXT NOT NULL DEFAULT '[]',
  first_seen_at    TEXT NOT NULL,
  last_seen_at     TEXT NOT NULL,
  content_hash     TEXT NOT NULL,
  revision         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX upwork_jobs_published_at ON upwork_jobs (published_at DESC, id DESC);

CREATE TABLE token_tracker (
  token_name   TEXT NOT NULL,
  token_value  TEXT NOT NULL,
  expires      INTEGER NOT NULL,
  created_at   TEXT NOT NULL
);
CREATE INDEX token_tracker_name_created ON token_tracker (token_name, created_at DESC);

CREATE TABLE fetch_state (
  feed           TEXT PRIMARY KEY NOT NULL,
  watermark_at   TEXT,
  watermark_ids  TEXT,
  lease_owner    TEXT,
  lease_until    TEXT,
  updated_at     TEXT NOT NULL
);

CREATE TABLE fetch_runs (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  feed              TEXT NOT NULL,
  started_at        TEXT NOT NULL,
  finished_at       TEXT,
  status            TEXT NOT NULL,
  error_class       TEXT,
  error             TEXT,
  api_requests      INTEGER NOT NULL DEFAULT 0,
  pages             INTEGER NOT NULL DEFAULT 0,
  postings_seen     INTEGER NOT NULL DEFAULT 0,
  postings_new      INTEGER NOT NULL DEFAULT 0,
  postings_updated  INTEGER NOT NULL DEFAULT 0,
  gap_from          TEXT,
  gap_to            TEXT,
  gap_estimated     INTEGER
);
CREATE INDEX fetch_runs_feed_started ON fetch_runs (feed, started_at DESC);

-- The original system's column names for its downstream readers. skills is one string joined
-- with ", " in API order; is_hourly is 1 or 0, NULL when the job type is unknown.
CREATE VIEW upwork_jobs_streaming AS
SELECT
  title,
  link,
  description,
  coalesce((SELECT group_concat(value, ', ')
            FROM (SELECT value FROM json_each(upwork_jobs.skills) ORDER BY key)), '') AS skills,
  published_at AS published_date,
  CASE job_type WHEN 'hourly' THEN 1 WHEN 'fixed' THEN 0 END AS is_hourly,
  hourly_min AS hourly_low,
  hourly_max AS hourly_high,
  fixed_budget AS budget
FROM upwork_jobs;
)sql";

constexpr std::array<migration, 1> migrations{{
    {1, schema_v1},
}};

result<int> applied_version(connection& db) {
  auto query = statement::prepare(db, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!query) return std::move(query).err();

  auto row = query->step();
  if (!row) return std::move(row).err();
  auto version = static_cast<int>(query->int64(0));
  query->reset();
  return version;
}

result<void> record_version(connection& db, int version) {
  auto insert = statement::prepare(db,
                                   "INSERT INTO schema_migrations (version, applied_at) "
                                   "VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
  if (!insert) return std::move(insert).err();

  auto done = insert->bind(1, static_cast<std::int64_t>(version)).step();
  if (!done) return std::move(done).err();
  return {};
}

}  // namespace

int latest_schema_version() { return migrations.back().version; }

result<void> migrate_schema(connection& db) {
  // One transaction for the check and every migration, so two processes migrating at once
  // apply each version exactly once.
  auto txn = transaction::begin_immediate(db);
  if (!txn) return std::move(txn).err();

  auto created = db.execute(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version INTEGER PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL)");
  if (!created) return created;

  auto current = applied_version(db);
  if (!current) return std::move(current).err();

  for (const auto& step : migrations) {
    if (step.version <= *current) continue;
    auto applied = db.execute(step.sql);
    if (!applied) return applied;
    auto recorded = record_version(db, step.version);
    if (!recorded) return recorded;
  }
  return txn->commit();
}

}  // namespace job_fetcher::store::sqlite
