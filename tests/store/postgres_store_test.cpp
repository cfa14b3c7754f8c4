// PostgreSQL-specific behaviour of the libpq store: tuple writes of repeat upserts, leases across
// connections, and lost connections. Needs JOB_FETCHER_TEST_PG_URL (scripts/pg-cluster.sh).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <latch>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "doubles/postgrest/pg_test_database.hpp"
#include "real_postings.hpp"
#include "store/factories.hpp"
#include "store/postgres_store.hpp"
#include "store/schema_postgres.hpp"

namespace job_fetcher::store {
namespace {

using namespace std::chrono_literals;
using job_fetcher::testing::fresh_postgres_schema;
using job_fetcher::testing::postgres_unavailable_reason;

const timestamp t1 = parse_timestamp("2025-06-16T10:00:00.000Z").value();
const timestamp t2 = parse_timestamp("2025-06-16T10:05:00.000Z").value();

page_write page_of(std::vector<upwork::posting> postings, timestamp seen_at,
                   std::int64_t run_id = 0) {
  page_write page;
  page.feed = "python";
  page.run_id = run_id;
  page.postings = std::move(postings);
  page.seen_at = seen_at;
  return page;
}

class postgres_store_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto reason = postgres_unavailable_reason(); !reason.empty()) GTEST_SKIP() << reason;
    conninfo_ = fresh_postgres_schema();
    store_ = open(conninfo_);
    auto admin = postgres::connection::open(conninfo_);
    ASSERT_TRUE(admin.ok()) << admin.err().describe();
    admin_.emplace(std::move(*admin));
  }

  static std::unique_ptr<job_store> open(const std::string& conninfo) {
    auto opened = make_postgres_store(conninfo);
    EXPECT_TRUE(opened.ok()) << opened.err().describe();
    if (!opened.ok()) return nullptr;
    auto migrated = (*opened)->migrate();
    EXPECT_TRUE(migrated.ok()) << migrated.err().describe();
    return std::move(*opened);
  }

  // The row version (ctid and xmin) of every row; an UPDATE always makes a new one.
  std::map<std::string, std::string> row_versions(const std::string& table) {
    auto answer = admin_->query(
        fmt::format("SELECT id, ctid::text || '/' || xmin::text FROM {} ORDER BY id", table));
    EXPECT_TRUE(answer.ok()) << answer.err().describe();
    std::map<std::string, std::string> versions;
    if (!answer.ok()) return versions;
    for (int i = 0; i < answer->size(); ++i) {
      versions.emplace(answer->text(i, 0), answer->text(i, 1));
    }
    return versions;
  }

  std::string scalar(const std::string& sql) {
    auto answer = admin_->query(sql);
    EXPECT_TRUE(answer.ok()) << answer.err().describe();
    if (!answer.ok() || answer->size() == 0 || answer->is_null(0, 0)) return "";
    return std::string(answer->text(0, 0));
  }

  std::string conninfo_;
  std::unique_ptr<job_store> store_;
  std::optional<postgres::connection> admin_;
};

TEST_F(postgres_store_test, repeat_upsert_rewrites_no_row) {
  auto postings = testing::real_postings(40);
  ASSERT_TRUE(store_->write_page(page_of(postings, t1)).ok());
  auto jobs_before = row_versions("upwork_jobs");
  auto sightings_before = row_versions("upwork_job_sightings");
  ASSERT_EQ(jobs_before.size(), 40u);

  auto again = store_->write_page(page_of(postings, t1));
  ASSERT_TRUE(again.ok()) << again.err().describe();
  EXPECT_EQ(again->unchanged, 40);
  EXPECT_EQ(row_versions("upwork_jobs"), jobs_before);
  EXPECT_EQ(row_versions("upwork_job_sightings"), sightings_before);
}

TEST_F(postgres_store_test, later_sighting_rewrites_only_narrow_row) {
  auto postings = testing::real_postings(40);
  ASSERT_TRUE(store_->write_page(page_of(postings, t1)).ok());
  auto jobs_before = row_versions("upwork_jobs");
  auto sightings_before = row_versions("upwork_job_sightings");

  ASSERT_TRUE(store_->write_page(page_of(postings, t2)).ok());
  EXPECT_EQ(row_versions("upwork_jobs"), jobs_before);
  EXPECT_NE(row_versions("upwork_job_sightings"), sightings_before);
  auto stored = store_->read_postings(1);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->front().last_seen_at, t2);
  EXPECT_EQ(stored->front().first_seen_at, t1);
}

// A page of postings none of which is stored goes straight into upwork_jobs by COPY, with no
// sighting rows: a posting's last sighting is its first_seen_at until it is seen again.
TEST_F(postgres_store_test, new_page_writes_no_sightings) {
  auto postings = testing::real_postings(30);
  postings.push_back(postings.front());  // the same posting twice in one page
  postings.back().title = "Second copy wins";

  auto counts = store_->write_page(page_of(postings, t1));

  ASSERT_TRUE(counts.ok()) << counts.err().describe();
  EXPECT_EQ(counts->inserted, 30);
  EXPECT_EQ(scalar("SELECT count(*) FROM upwork_job_sightings"), "0");
  EXPECT_EQ(scalar(fmt::format("SELECT title FROM upwork_jobs WHERE id = '{}'",
                               postings.front().id)),
            "Second copy wins");
  auto stored = store_->read_postings(100);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 30u);
  for (const auto& row : *stored) {
    EXPECT_EQ(row.last_seen_at, t1);
    EXPECT_EQ(row.revision, 1);
    EXPECT_EQ(row.feeds, std::vector<std::string>{"python"});
  }
}

TEST_F(postgres_store_test, mixed_page_upserts) {
  auto postings = testing::real_postings(20);
  std::vector<upwork::posting> first(postings.begin(), postings.begin() + 5);
  ASSERT_TRUE(store_->write_page(page_of(first, t1)).ok());

  auto counts = store_->write_page(page_of(postings, t2));

  ASSERT_TRUE(counts.ok()) << counts.err().describe();
  EXPECT_EQ(counts->inserted, 15);
  EXPECT_EQ(counts->unchanged, 5);
  EXPECT_EQ(scalar("SELECT count(*) FROM upwork_jobs"), "20");
  EXPECT_EQ(scalar("SELECT count(*) FROM upwork_job_sightings"), "5");
}

// Another feed's run inserts one of the page's postings after the store checked that none is
// stored: the COPY meets a unique violation, and the page falls back to the upsert.
TEST_F(postgres_store_test, concurrent_insert_falls_back_to_upsert) {
  auto postings = testing::real_postings(10);
  ASSERT_TRUE(admin_->begin().ok());
  ASSERT_TRUE(admin_->query("SELECT create_staged_postings()").ok());
  auto other = admin_->query(
      "SELECT upsert_postings('java', $1, $2::jsonb)",
      {format_timestamp(t1),
       nlohmann::json::array({postgres::posting_to_json(postings[3])}).dump()});
  ASSERT_TRUE(other.ok()) << other.err().describe();

  // The page's COPY waits for the open transaction's row, then fails on it once it commits.
  auto page = std::async(std::launch::async,
                         [&] { return store_->write_page(page_of(postings, t2)); });
  ASSERT_EQ(page.wait_for(300ms), std::future_status::timeout) << "the COPY did not wait";
  ASSERT_TRUE(admin_->commit().ok());
  auto counts = page.get();

  ASSERT_TRUE(counts.ok()) << counts.err().describe();
  EXPECT_EQ(counts->inserted, 9);
  EXPECT_EQ(counts->inserted + counts->updated + counts->unchanged, 10);
  EXPECT_EQ(scalar("SELECT count(*) FROM upwork_jobs"), "10");
  EXPECT_EQ(scalar(fmt::format("SELECT array_to_string(feeds, ',') FROM upwork_jobs "
                               "WHERE id = '{}'",
                               postings[3].id)),
            "java,python");
}

// The statistics of the writing transaction itself (pg_stat_xact_user_tables) count every tuple
// it inserted or updated, so this runs the store's upsert function on the test connection.
TEST_F(postgres_store_test, repeat_upsert_counts_no_tuple_update) {
  auto postings = testing::real_postings(25);
  ASSERT_TRUE(store_->write_page(page_of(postings, t1)).ok());

  ASSERT_TRUE(admin_->begin().ok());
  ASSERT_TRUE(admin_->query("SELECT create_staged_postings()").ok());
  auto staged = admin_->query(
      "SELECT upsert_postings('python', $1, $2::jsonb)::text",
      {format_timestamp(t1), [&] {
         nlohmann::json rows = nlohmann::json::array();
         for (const auto& p : postings) rows.push_back(postgres::posting_to_json(p));
         return rows.dump();
       }()});
  ASSERT_TRUE(staged.ok()) << staged.err().describe();
  EXPECT_EQ(nlohmann::json::parse(staged->text(0, 0))["unchanged"], 25);
  EXPECT_EQ(scalar("SELECT coalesce(sum(n_tup_upd + n_tup_ins), 0) FROM pg_stat_xact_user_tables "
                   "WHERE relname IN ('upwork_jobs', 'upwork_job_sightings') "
                   "AND schemaname = current_schema()"),
            "0");
  admin_->rollback();
}

TEST_F(postgres_store_test, leases_exclude_concurrent_runs) {
  auto other = open(conninfo_);
  ASSERT_NE(other, nullptr);
  for (int round = 0; round < 20; ++round) {
    std::latch start(2);
    auto race = [&](job_store& store, const std::string& owner) {
      start.arrive_and_wait();
      auto taken = store.acquire_lease("python", owner, t1, t1 + 10min);
      return taken.ok() && *taken;
    };
    auto first = std::async(std::launch::async, race, std::ref(*store_), "run-a");
    auto second = std::async(std::launch::async, race, std::ref(*other), "run-b");
    bool a = first.get();
    bool b = second.get();
    ASSERT_NE(a, b) << "round " << round << ": exactly one run holds the lease";
    ASSERT_TRUE((a ? *store_ : *other).release_lease("python", a ? "run-a" : "run-b").ok());
  }
}

TEST_F(postgres_store_test, terminated_connection_reconnects_on_next_call) {
  std::string name = fmt::format("jf_drop_{}", ::testing::UnitTest::GetInstance()->random_seed());
  auto store = open(conninfo_ + "&application_name=" + name);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->acquire_lease("python", "run-a", t1, t1 + 10min).ok());

  EXPECT_EQ(scalar(fmt::format("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE application_name = '{}'",
                               name)),
            "1");
  auto taken = store->acquire_lease("python", "run-a", t1, t1 + 20min);
  ASSERT_TRUE(taken.ok()) << taken.err().describe();
  EXPECT_TRUE(*taken);
  EXPECT_EQ(scalar(fmt::format("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{}'",
                               name)),
            "1");
}

// A thawed Lambda's first call after minutes is often a page: its BEGIN meets the dead socket.
TEST_F(postgres_store_test, terminated_connection_reconnects_on_next_page) {
  std::string name = fmt::format("jf_page_{}", ::testing::UnitTest::GetInstance()->random_seed());
  auto store = open(conninfo_ + "&application_name=" + name);
  ASSERT_NE(store, nullptr);
  auto postings = testing::real_postings(10);
  ASSERT_TRUE(store->write_page(page_of({postings.begin(), postings.begin() + 5}, t1)).ok());

  EXPECT_EQ(scalar(fmt::format("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE application_name = '{}'",
                               name)),
            "1");
  auto counts = store->write_page(page_of(postings, t2));

  ASSERT_TRUE(counts.ok()) << counts.err().describe();
  EXPECT_EQ(counts->inserted, 5);
  EXPECT_EQ(counts->unchanged, 5);
  EXPECT_EQ(scalar("SELECT count(*) FROM upwork_jobs"), "10");
}

TEST_F(postgres_store_test, connection_lost_mid_page_keeps_watermark) {
  std::string name = fmt::format("jf_mid_{}", ::testing::UnitTest::GetInstance()->random_seed());
  auto store = open(conninfo_ + "&application_name=" + name);
  ASSERT_NE(store, nullptr);
  auto run = store->begin_run("python", t1);
  ASSERT_TRUE(run.ok());
  auto first = page_of(testing::real_postings(10), t1, *run);
  first.new_watermark = watermark{t1, {"1"}};
  ASSERT_TRUE(store->write_page(first).ok());

  // Hold the ledger row, so the next page blocks inside its transaction, then cut the connection.
  ASSERT_TRUE(admin_->begin().ok());
  ASSERT_TRUE(admin_->query("SELECT 1 FROM fetch_runs WHERE id = $1 FOR UPDATE",
                            {std::to_string(*run)})
                  .ok());
  auto second = page_of(testing::real_postings(30), t2, *run);
  second.new_watermark = watermark{t2, {"2"}};
  auto written = std::async(std::launch::async, [&] { return store->write_page(second); });
  for (int i = 0; i < 500; ++i) {
    if (scalar(fmt::format("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{}' "
                           "AND wait_event_type = 'Lock'",
                           name)) == "1") {
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  scalar(fmt::format("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE application_name = '{}'",
                     name));
  auto outcome = written.get();
  admin_->rollback();

  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.err().kind, error_class::store);
  EXPECT_FALSE(outcome.err().sqlstate.empty());
  auto mark = store->load_watermark("python");
  ASSERT_TRUE(mark.ok()) << mark.err().describe();
  EXPECT_EQ(*mark, std::optional<watermark>(watermark{t1, {"1"}}));
  EXPECT_EQ(scalar("SELECT count(*) FROM upwork_jobs"), "10");
}

TEST_F(postgres_store_test, errors_carry_sqlstate) {
  auto postings = testing::real_postings(2);
  postings[1].ciphertext = postings[0].ciphertext;  // ciphertext is unique
  auto written = store_->write_page(page_of(postings, t1));
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.err().kind, error_class::store);
  EXPECT_EQ(written.err().sqlstate, "23505");
  auto mark = store_->load_watermark("python");
  EXPECT_TRUE(mark.ok());
}

TEST_F(postgres_store_test, copy_keeps_special_characters) {
  auto postings = testing::real_postings(1);
  postings[0].title = "tab\there \\ back\\slash \"quoted\" {brace} \r\n new line ✅";
  postings[0].skills = {"C++", "a,b", "quote\"d", "back\\slash", "{x}", "NULL", ""};
  testing::rehash(postings[0]);
  ASSERT_TRUE(store_->write_page(page_of(postings, t1)).ok());
  auto stored = store_->read_postings(1);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->front().posting, postings[0]);
}

TEST_F(postgres_store_test, migrate_twice_is_harmless) {
  EXPECT_TRUE(store_->migrate().ok());
  EXPECT_EQ(scalar("SELECT max(version) FROM schema_migrations"),
            std::to_string(postgres::latest_schema_version()));
}

TEST_F(postgres_store_test, printed_schema_applies_to_empty_schema) {
  auto conninfo = fresh_postgres_schema();
  auto db = postgres::connection::open(conninfo);
  ASSERT_TRUE(db.ok());
  auto applied = db->execute(postgres_schema_sql());
  ASSERT_TRUE(applied.ok()) << applied.err().describe();
  ASSERT_TRUE(db->execute(postgres_schema_sql()).ok());
  auto store = open(conninfo);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->write_page(page_of(testing::real_postings(3), t1)).ok());
}

TEST_F(postgres_store_test, streaming_view_keeps_original_columns) {
  auto postings = testing::real_postings(5);
  ASSERT_TRUE(store_->write_page(page_of(postings, t1)).ok());
  EXPECT_EQ(scalar("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
                   "information_schema.columns WHERE table_schema = current_schema() AND "
                   "table_name = 'upwork_jobs_streaming'"),
            "title,link,description,skills,published_date,is_hourly,hourly_low,hourly_high,"
            "budget");
  EXPECT_EQ(scalar(fmt::format("SELECT skills FROM upwork_jobs_streaming WHERE link = '{}'",
                               postings[0].link)),
            fmt::format("{}", fmt::join(postings[0].skills, ", ")));
}

}  // namespace
}  // namespace job_fetcher::store
