// The job_store contract, run against every backend in store_backends().
#include <gtest/gtest.h>

#include <algorithm>
#include <latch>
#include <map>
#include <thread>

#include "real_postings.hpp"
#include "store/store.hpp"
#include "store_backends.hpp"

namespace job_fetcher::store {
namespace {

using namespace std::chrono_literals;
using testing::find_store_backend;
using testing::real_postings;
using testing::rehash;

timestamp at(const char* text) { return parse_timestamp(text).value(); }

const timestamp t1 = at("2025-06-16T10:00:00.000Z");
const timestamp t2 = at("2025-06-16T10:05:00.500Z");
const timestamp t3 = at("2025-06-16T10:10:00.999Z");

page_write page_of(std::vector<upwork::posting> postings, timestamp seen_at,
                   std::string feed = "python") {
  page_write page;
  page.feed = std::move(feed);
  page.postings = std::move(postings);
  page.seen_at = seen_at;
  return page;
}

class store_contract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const auto& backend = find_store_backend(GetParam());
    if (!backend.unavailable_reason.empty()) GTEST_SKIP() << backend.unavailable_reason;
    store_ = backend.make_empty();
    ASSERT_NE(store_, nullptr);
  }

  upsert_counts write(const page_write& page) {
    auto written = store_->write_page(page);
    EXPECT_TRUE(written.ok()) << (written.ok() ? "" : written.err().describe());
    return written.ok() ? *written : upsert_counts{};
  }

  std::map<std::string, stored_posting> stored_by_id() {
    auto rows = store_->read_postings(100'000);
    EXPECT_TRUE(rows.ok()) << (rows.ok() ? "" : rows.err().describe());
    std::map<std::string, stored_posting> by_id;
    if (rows.ok()) {
      for (auto& row : *rows) by_id.emplace(row.posting.id, std::move(row));
    }
    return by_id;
  }

  stored_posting stored(const std::string& id) {
    auto by_id = stored_by_id();
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      ADD_FAILURE() << "posting " << id << " not stored";
      return {};
    }
    return it->second;
  }

  run_record run_by_id(std::int64_t id) {
    auto runs = store_->recent_runs(std::nullopt, 1000);
    EXPECT_TRUE(runs.ok());
    if (runs.ok()) {
      for (const auto& run : *runs) {
        if (run.id == id) return run;
      }
    }
    ADD_FAILURE() << "run " << id << " not found";
    return {};
  }

  std::unique_ptr<job_store> store_;
};

// --- upsert ---

TEST_P(store_contract, upsert_inserts_rows_that_round_trip) {
  auto postings = real_postings(50);
  auto counts = write(page_of(postings, t1));

  EXPECT_EQ(counts.inserted, 50);
  EXPECT_EQ(counts.updated, 0);
  EXPECT_EQ(counts.unchanged, 0);
  auto by_id = stored_by_id();
  ASSERT_EQ(by_id.size(), 50u);
  for (const auto& posting : postings) {
    const auto& row = by_id.at(posting.id);
    EXPECT_EQ(row.posting, posting) << "posting " << posting.id;
    EXPECT_EQ(row.revision, 1) << "posting " << posting.id;
    EXPECT_EQ(row.first_seen_at, t1) << "posting " << posting.id;
    EXPECT_EQ(row.last_seen_at, t1) << "posting " << posting.id;
    EXPECT_EQ(row.feeds, std::vector<std::string>{"python"}) << "posting " << posting.id;
  }
}

TEST_P(store_contract, upsert_round_trips_edge_values) {
  upwork::posting bare = real_postings(1).front();
  bare.skills.clear();
  bare.job_type.reset();
  bare.hourly_min.reset();
  bare.hourly_max.reset();
  bare.fixed_budget.reset();
  bare.contractor_tier.reset();
  bare.duration_label.reset();
  bare.workload.reset();
  bare.client_country.reset();
  bare.created_at.reset();
  rehash(bare);

  upwork::posting rich = real_postings(2).back();
  rich.title = "Ünïcödé \"quotes\", 'apostrophes' and emoji \xF0\x9F\x9A\x80\tend";
  rich.description = "line one\nline two\n\n\tindented; DROP TABLE upwork_jobs; --";
  rich.skills = {"C++", "a, b", "quote \" inside", "back\\slash", "日本語"};
  rich.job_type = "hourly";
  rich.hourly_min = "0.50";
  rich.hourly_max = "9999999999.99";
  rich.fixed_budget.reset();
  rich.currency = "EUR";
  rich.source = "marketplace";
  rich.published_at = at("1999-12-31T23:59:59.001Z");
  rich.created_at = at("1999-12-31T23:00:00.000Z");
  rehash(rich);

  write(page_of({bare, rich}, t1));

  EXPECT_EQ(stored(bare.id).posting, bare);
  EXPECT_EQ(stored(rich.id).posting, rich);
}

TEST_P(store_contract, unchanged_reupsert_touches_only_last_seen) {
  auto postings = real_postings(10);
  write(page_of(postings, t1));

  auto counts = write(page_of(postings, t2));

  EXPECT_EQ(counts.inserted, 0);
  EXPECT_EQ(counts.updated, 0);
  EXPECT_EQ(counts.unchanged, 10);
  for (const auto& posting : postings) {
    auto row = stored(posting.id);
    EXPECT_EQ(row.posting, posting);
    EXPECT_EQ(row.revision, 1);
    EXPECT_EQ(row.first_seen_at, t1);
    EXPECT_EQ(row.last_seen_at, t2);
  }
}

TEST_P(store_contract, changed_content_increments_revision) {
  auto postings = real_postings(3);
  write(page_of(postings, t1));
  upwork::posting changed = postings[1];
  changed.title += " (updated)";
  changed.fixed_budget = "1234.56";
  rehash(changed);

  auto counts = write(page_of({changed}, t2));

  EXPECT_EQ(counts.updated, 1);
  EXPECT_EQ(counts.inserted, 0);
  EXPECT_EQ(counts.unchanged, 0);
  auto row = stored(changed.id);
  EXPECT_EQ(row.posting, changed);
  EXPECT_EQ(row.revision, 2);
  EXPECT_EQ(row.first_seen_at, t1);
  EXPECT_EQ(row.last_seen_at, t2);
  EXPECT_EQ(stored(postings[0].id).revision, 1);
}

TEST_P(store_contract, upsert_from_another_feed_appends_feed_once) {
  auto postings = real_postings(2);
  write(page_of(postings, t1, "python"));
  write(page_of({postings[0]}, t2, "rust"));
  write(page_of({postings[0]}, t3, "python"));

  EXPECT_EQ(stored(postings[0].id).feeds, (std::vector<std::string>{"python", "rust"}));
  EXPECT_EQ(stored(postings[1].id).feeds, std::vector<std::string>{"python"});
  EXPECT_EQ(stored(postings[0].id).revision, 1);
}

TEST_P(store_contract, changed_content_from_another_feed_appends_feed) {
  auto postings = real_postings(1);
  write(page_of(postings, t1, "python"));
  upwork::posting changed = postings[0];
  changed.description += "\nEdited.";
  rehash(changed);

  write(page_of({changed}, t2, "rust"));

  auto row = stored(changed.id);
  EXPECT_EQ(row.feeds, (std::vector<std::string>{"python", "rust"}));
  EXPECT_EQ(row.revision, 2);
}

TEST_P(store_contract, same_id_twice_in_page_keeps_last) {
  auto postings = real_postings(2);
  upwork::posting first = postings[0];
  upwork::posting last = postings[0];
  last.title = "Second version of the same posting";
  rehash(last);
  auto run_id = store_->begin_run("python", t1);
  ASSERT_TRUE(run_id.ok());
  auto page = page_of({first, postings[1], last}, t1);
  page.run_id = *run_id;

  auto counts = write(page);

  EXPECT_EQ(counts.inserted, 2);
  EXPECT_EQ(counts.updated, 0);
  EXPECT_EQ(counts.unchanged, 0);
  EXPECT_EQ(stored_by_id().size(), 2u);
  EXPECT_EQ(stored(last.id).posting, last);
  EXPECT_EQ(stored(last.id).revision, 1);
  EXPECT_EQ(run_by_id(*run_id).postings_seen, 2);
}

// An empty hash would compare equal to the next empty hash, so changed content would never be
// written: the store rejects the page instead.
TEST_P(store_contract, page_without_content_hash_is_rejected) {
  auto postings = real_postings(2);
  postings[1].content_hash.clear();

  auto written = store_->write_page(page_of(postings, t1));

  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.err().kind, error_class::store);
  EXPECT_TRUE(stored_by_id().empty());
}

// --- watermark and atomicity ---

TEST_P(store_contract, watermark_moves_only_when_given) {
  auto postings = real_postings(4);
  watermark mark{postings[0].published_at, {postings[0].id}};

  write(page_of({postings[0]}, t1));
  auto before = store_->load_watermark("python");
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->has_value());

  auto page = page_of({postings[1]}, t2);
  page.new_watermark = mark;
  write(page);
  auto after = store_->load_watermark("python");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, mark);

  write(page_of({postings[2]}, t3));
  auto unchanged = store_->load_watermark("python");
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(*unchanged, mark);

  auto other_feed = store_->load_watermark("rust");
  ASSERT_TRUE(other_feed.ok());
  EXPECT_FALSE(other_feed->has_value());
}

TEST_P(store_contract, watermark_keeps_every_id_of_its_instant) {
  auto postings = real_postings(3);
  watermark mark{postings[0].published_at, {postings[0].id, postings[1].id, postings[2].id}};
  auto page = page_of(postings, t1);
  page.new_watermark = mark;

  write(page);

  auto loaded = store_->load_watermark("python");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, mark);
}

TEST_P(store_contract, failing_page_leaves_nothing_behind) {
  auto postings = real_postings(5);
  auto run_id = store_->begin_run("python", t1);
  ASSERT_TRUE(run_id.ok());
  watermark first_mark{postings[0].published_at, {postings[0].id}};
  auto first = page_of({postings[0], postings[1]}, t1);
  first.run_id = *run_id;
  first.new_watermark = first_mark;
  first.api_requests = 1;
  first.pages = 1;
  write(first);

  // postings[3] takes the ciphertext of postings[2], a different id in the same page.
  upwork::posting changed = postings[0];
  changed.title = "Changed in the failing page";
  rehash(changed);
  upwork::posting clash = postings[3];
  clash.ciphertext = postings[2].ciphertext;
  clash.link = postings[2].link;
  rehash(clash);
  auto failing = page_of({changed, postings[2], clash, postings[4]}, t2);
  failing.run_id = *run_id;
  failing.new_watermark = watermark{postings[4].published_at, {postings[4].id}};
  failing.api_requests = 2;
  failing.pages = 2;

  auto written = store_->write_page(failing);

  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.err().kind, error_class::store);
  EXPECT_FALSE(written.err().message.empty());
  auto by_id = stored_by_id();
  EXPECT_EQ(by_id.size(), 2u);
  EXPECT_EQ(by_id.count(postings[2].id), 0u);
  EXPECT_EQ(by_id.count(postings[4].id), 0u);
  EXPECT_EQ(by_id.at(postings[0].id).posting, postings[0]);
  EXPECT_EQ(by_id.at(postings[0].id).last_seen_at, t1);
  auto mark = store_->load_watermark("python");
  ASSERT_TRUE(mark.ok());
  EXPECT_EQ(*mark, first_mark);
  auto run = run_by_id(*run_id);
  EXPECT_EQ(run.api_requests, 1);
  EXPECT_EQ(run.pages, 1);
  EXPECT_EQ(run.postings_seen, 2);
  EXPECT_EQ(run.postings_new, 2);
}

TEST_P(store_contract, ciphertext_of_stored_posting_under_new_id_fails) {
  auto postings = real_postings(2);
  write(page_of({postings[0]}, t1));
  upwork::posting clash = postings[1];
  clash.ciphertext = postings[0].ciphertext;
  clash.link = postings[0].link;
  rehash(clash);

  auto written = store_->write_page(page_of({clash}, t2));

  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.err().kind, error_class::store);
  EXPECT_EQ(stored_by_id().size(), 1u);
}

TEST_P(store_contract, store_stays_usable_after_failed_page) {
  auto postings = real_postings(3);
  upwork::posting clash = postings[1];
  clash.ciphertext = postings[0].ciphertext;
  rehash(clash);
  ASSERT_FALSE(store_->write_page(page_of({postings[0], clash}, t1)).ok());

  auto counts = write(page_of(postings, t2));

  EXPECT_EQ(counts.inserted, 3);
  EXPECT_EQ(stored_by_id().size(), 3u);
}

// --- leases ---

TEST_P(store_contract, lease_rejects_second_owner) {
  auto first = store_->acquire_lease("python", "run-a", t1, t1 + 5min);
  auto second = store_->acquire_lease("python", "run-b", t1 + 1min, t1 + 6min);

  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*second);
}

TEST_P(store_contract, lease_is_per_feed) {
  ASSERT_TRUE(store_->acquire_lease("python", "run-a", t1, t1 + 5min).value());

  auto other_feed = store_->acquire_lease("rust", "run-b", t1, t1 + 5min);

  ASSERT_TRUE(other_feed.ok());
  EXPECT_TRUE(*other_feed);
}

TEST_P(store_contract, lease_holder_extends_its_lease) {
  ASSERT_TRUE(store_->acquire_lease("python", "run-a", t1, t1 + 5min).value());

  auto extended = store_->acquire_lease("python", "run-a", t1 + 4min, t1 + 10min);
  auto during_extension = store_->acquire_lease("python", "run-b", t1 + 7min, t1 + 12min);

  ASSERT_TRUE(extended.ok());
  EXPECT_TRUE(*extended);
  ASSERT_TRUE(during_extension.ok());
  EXPECT_FALSE(*during_extension);
}

TEST_P(store_contract, expired_lease_is_taken_over) {
  ASSERT_TRUE(store_->acquire_lease("python", "run-a", t1, t1 + 5min).value());

  auto takeover = store_->acquire_lease("python", "run-b", t1 + 5min + 1ms, t1 + 10min);
  auto old_owner = store_->acquire_lease("python", "run-a", t1 + 6min, t1 + 11min);

  ASSERT_TRUE(takeover.ok());
  EXPECT_TRUE(*takeover);
  ASSERT_TRUE(old_owner.ok());
  EXPECT_FALSE(*old_owner);
}

TEST_P(store_contract, release_by_non_owner_keeps_lease) {
  ASSERT_TRUE(store_->acquire_lease("python", "run-a", t1, t1 + 5min).value());

  auto released = store_->release_lease("python", "run-b");
  auto attempt = store_->acquire_lease("python", "run-b", t1 + 1min, t1 + 6min);

  EXPECT_TRUE(released.ok());
  ASSERT_TRUE(attempt.ok());
  EXPECT_FALSE(*attempt);
}

TEST_P(store_contract, release_by_owner_frees_lease) {
  ASSERT_TRUE(store_->acquire_lease("python", "run-a", t1, t1 + 5min).value());

  auto released = store_->release_lease("python", "run-a");
  auto attempt = store_->acquire_lease("python", "run-b", t1 + 1min, t1 + 6min);

  EXPECT_TRUE(released.ok());
  ASSERT_TRUE(attempt.ok());
  EXPECT_TRUE(*attempt);
}

TEST_P(store_contract, lease_does_not_touch_watermark) {
  auto postings = real_postings(1);
  auto page = page_of(postings, t1);
  page.new_watermark = watermark{postings[0].published_at, {postings[0].id}};
  write(page);

  ASSERT_TRUE(store_->acquire_lease("python", "run-a", t1, t1 + 5min).value());
  ASSERT_TRUE(store_->release_lease("python", "run-a").ok());

  auto mark = store_->load_watermark("python");
  ASSERT_TRUE(mark.ok());
  EXPECT_EQ(*mark, page.new_watermark);
}

TEST_P(store_contract, racing_stores_get_lease_exactly_once) {
  const auto& backend = find_store_backend(GetParam());
  if (!backend.make_sharing) GTEST_SKIP() << "backend " << GetParam() << " cannot share a database";
  constexpr int contenders = 6;
  constexpr int rounds = 10;
  auto stores = backend.make_sharing(contenders);
  ASSERT_EQ(stores.size(), static_cast<std::size_t>(contenders));

  for (int round = 0; round < rounds; ++round) {
    std::string feed = "feed-" + std::to_string(round);
    std::latch start(contenders);
    std::vector<int> won(contenders, 0);
    std::vector<std::string> failures(contenders);
    std::vector<std::thread> threads;
    for (int i = 0; i < contenders; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        auto got = stores[i]->acquire_lease(feed, "owner-" + std::to_string(i), t1, t1 + 5min);
        if (!got) failures[i] = got.err().describe();
        won[i] = got.ok() && *got ? 1 : 0;
      });
    }
    for (auto& thread : threads) thread.join();

    for (const auto& failure : failures) EXPECT_EQ(failure, "") << "round " << round;
    EXPECT_EQ(std::count(won.begin(), won.end(), 1), 1) << "round " << round;
  }
}

// --- run ledger ---

TEST_P(store_contract, begin_run_records_running_row) {
  auto run_id = store_->begin_run("python", t1);
  ASSERT_TRUE(run_id.ok());

  auto run = run_by_id(*run_id);

  EXPECT_GT(*run_id, 0);
  EXPECT_EQ(run.feed, "python");
  EXPECT_EQ(run.status, "running");
  EXPECT_EQ(run.started_at, t1);
  EXPECT_FALSE(run.finished_at.has_value());
  EXPECT_EQ(run.postings_seen, 0);
  EXPECT_FALSE(run.gap.has_value());
}

// A process killed mid-run leaves its row "running"; the feed's next run closes it as failed.
TEST_P(store_contract, begin_run_closes_abandoned_runs) {
  auto killed = store_->begin_run("python", t1);
  auto other_feed = store_->begin_run("design", t1);
  ASSERT_TRUE(killed.ok());
  ASSERT_TRUE(other_feed.ok());

  auto next = store_->begin_run("python", t2);
  ASSERT_TRUE(next.ok()) << next.err().describe();

  auto closed = run_by_id(*killed);
  EXPECT_EQ(closed.status, "failed");
  EXPECT_EQ(closed.finished_at, t2);
  ASSERT_TRUE(closed.error.has_value());
  EXPECT_NE(closed.error->find("abandoned"), std::string::npos) << *closed.error;
  EXPECT_EQ(run_by_id(*next).status, "running");
  EXPECT_EQ(run_by_id(*other_feed).status, "running");
}

TEST_P(store_contract, write_page_accumulates_run_counters) {
  auto postings = real_postings(8);
  auto run_id = store_->begin_run("python", t1);
  ASSERT_TRUE(run_id.ok());
  write(page_of({postings[0], postings[1]}, t1));  // outside the run: not counted
  upwork::posting changed = postings[1];
  changed.title += " v2";
  rehash(changed);

  auto first = page_of({postings[2], postings[3], postings[4]}, t1);
  first.run_id = *run_id;
  first.api_requests = 2;
  first.pages = 1;
  write(first);
  auto second = page_of({postings[0], changed, postings[4], postings[5]}, t2);
  second.run_id = *run_id;
  second.api_requests = 3;
  second.pages = 2;
  write(second);

  auto run = run_by_id(*run_id);
  EXPECT_EQ(run.api_requests, 3);
  EXPECT_EQ(run.pages, 2);
  EXPECT_EQ(run.postings_seen, 7);
  EXPECT_EQ(run.postings_new, 4);
  EXPECT_EQ(run.postings_updated, 1);
  EXPECT_EQ(run.status, "running");
}

TEST_P(store_contract, finish_run_writes_final_row) {
  auto run_id = store_->begin_run("python", t1);
  ASSERT_TRUE(run_id.ok());
  run_record final_row;
  final_row.id = *run_id;
  final_row.feed = "python";
  final_row.started_at = t1;
  final_row.finished_at = t2;
  final_row.status = "failed";
  final_row.error_class = "rate_limited";
  final_row.error = "rate_limited: HTTP 429 after 3 retries";
  final_row.api_requests = 12;
  final_row.pages = 10;
  final_row.postings_seen = 500;
  final_row.postings_new = 480;
  final_row.postings_updated = 5;
  final_row.gap = coverage_gap{at("2025-06-15T00:00:00.000Z"), at("2025-06-16T09:00:00.123Z"), 42};

  auto finished = store_->finish_run(final_row);

  ASSERT_TRUE(finished.ok()) << finished.err().describe();
  auto run = run_by_id(*run_id);
  EXPECT_EQ(run.id, final_row.id);
  EXPECT_EQ(run.feed, final_row.feed);
  EXPECT_EQ(run.started_at, final_row.started_at);
  EXPECT_EQ(run.finished_at, final_row.finished_at);
  EXPECT_EQ(run.status, final_row.status);
  EXPECT_EQ(run.error_class, final_row.error_class);
  EXPECT_EQ(run.error, final_row.error);
  EXPECT_EQ(run.api_requests, final_row.api_requests);
  EXPECT_EQ(run.pages, final_row.pages);
  EXPECT_EQ(run.postings_seen, final_row.postings_seen);
  EXPECT_EQ(run.postings_new, final_row.postings_new);
  EXPECT_EQ(run.postings_updated, final_row.postings_updated);
  EXPECT_EQ(run.gap, final_row.gap);
}

TEST_P(store_contract, finish_run_of_unknown_run_fails) {
  run_record unknown;
  unknown.id = 987654;
  unknown.feed = "python";
  unknown.status = "ok";
  unknown.finished_at = t2;

  auto finished = store_->finish_run(unknown);

  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.err().kind, error_class::store);
}

TEST_P(store_contract, recent_runs_lists_newest_first) {
  auto a = store_->begin_run("python", t1);
  auto b = store_->begin_run("rust", t2);
  auto c = store_->begin_run("python", t3);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(c.ok());

  auto all = store_->recent_runs(std::nullopt, 10);
  auto python = store_->recent_runs(std::string("python"), 10);
  auto newest = store_->recent_runs(std::nullopt, 1);

  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, *c);
  EXPECT_EQ((*all)[1].id, *b);
  EXPECT_EQ((*all)[2].id, *a);
  ASSERT_TRUE(python.ok());
  ASSERT_EQ(python->size(), 2u);
  EXPECT_EQ((*python)[0].id, *c);
  EXPECT_EQ((*python)[1].id, *a);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].id, *c);
}

// --- token cache ---

TEST_P(store_contract, token_cache_returns_newest_unexpired) {
  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(t2.time_since_epoch()).count();
  ASSERT_TRUE(store_->write_token({"UniversalSearch", secret("older"), now_s + 3600, t1}).ok());
  ASSERT_TRUE(store_->write_token({"UniversalSearch", secret("newest"), now_s + 600, t2}).ok());
  ASSERT_TRUE(store_->write_token({"OtherName", secret("other"), now_s + 9000, t3}).ok());

  auto token = store_->read_token("UniversalSearch", t2);

  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(token->has_value());
  EXPECT_EQ((*token)->name, "UniversalSearch");
  EXPECT_EQ((*token)->value.reveal(), "newest");
  EXPECT_EQ((*token)->expires, now_s + 600);
  EXPECT_EQ((*token)->created_at, t2);
}

TEST_P(store_contract, token_cache_skips_expired_rows) {
  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(t2.time_since_epoch()).count();
  ASSERT_TRUE(store_->write_token({"UniversalSearch", secret("valid"), now_s + 60, t1}).ok());
  ASSERT_TRUE(store_->write_token({"UniversalSearch", secret("expired"), now_s, t2}).ok());

  auto token = store_->read_token("UniversalSearch", t2);
  auto later = store_->read_token("UniversalSearch", t2 + 61s);

  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(token->has_value());
  EXPECT_EQ((*token)->value.reveal(), "valid");
  ASSERT_TRUE(later.ok());
  EXPECT_FALSE(later->has_value());
}

TEST_P(store_contract, token_cache_is_empty_for_unknown_name) {
  auto token = store_->read_token("UniversalSearch", t1);

  ASSERT_TRUE(token.ok());
  EXPECT_FALSE(token->has_value());
}

// --- schema and reads ---

TEST_P(store_contract, migrate_twice_is_idempotent) {
  auto postings = real_postings(3);
  write(page_of(postings, t1));

  auto again = store_->migrate();
  auto third = store_->migrate();

  EXPECT_TRUE(again.ok()) << again.err().describe();
  EXPECT_TRUE(third.ok()) << third.err().describe();
  EXPECT_EQ(stored_by_id().size(), 3u);
}

TEST_P(store_contract, read_postings_returns_newest_published_first) {
  auto postings = real_postings(20);
  std::reverse(postings.begin(), postings.end());
  write(page_of(postings, t1));
  std::vector<timestamp> expected;
  for (const auto& posting : postings) expected.push_back(posting.published_at);
  std::sort(expected.rbegin(), expected.rend());

  auto rows = store_->read_postings(5);

  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 5u);
  for (std::size_t i = 0; i < rows->size(); ++i) {
    EXPECT_EQ((*rows)[i].posting.published_at, expected[i]) << "row " << i;
  }
}

TEST_P(store_contract, read_postings_filters_by_feed) {
  auto postings = real_postings(5);
  write(page_of({postings[0], postings[1]}, t1, "market"));
  write(page_of({postings[1], postings[2], postings[3]}, t1, "python"));

  auto market = store_->read_postings(100, std::string("market"));
  auto python = store_->read_postings(100, std::string("python"));
  auto unknown = store_->read_postings(100, std::string("nope"));
  auto all = store_->read_postings(100);

  ASSERT_TRUE(market.ok()) << market.err().describe();
  ASSERT_TRUE(python.ok()) << python.err().describe();
  ASSERT_TRUE(unknown.ok()) << unknown.err().describe();
  ASSERT_TRUE(all.ok()) << all.err().describe();
  EXPECT_EQ(market->size(), 2u);
  EXPECT_EQ(python->size(), 3u);
  EXPECT_TRUE(unknown->empty());
  EXPECT_EQ(all->size(), 4u);
  for (const auto& row : *market) {
    EXPECT_NE(std::find(row.feeds.begin(), row.feeds.end(), "market"), row.feeds.end());
  }
}

TEST_P(store_contract, newest_published_at_tracks_stored_postings) {
  auto empty = store_->newest_published_at();
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());

  auto postings = real_postings(10);
  write(page_of(postings, t1));
  auto newest = store_->newest_published_at();

  auto expected = std::max_element(postings.begin(), postings.end(), [](auto& a, auto& b) {
                    return a.published_at < b.published_at;
                  })->published_at;
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ(*newest, expected);
}

// --- prune ---

TEST_P(store_contract, prune_deletes_postings_only_its_feed_lists) {
  auto postings = real_postings(4);
  write(page_of({postings[0], postings[1]}, t1, "market"));
  write(page_of({postings[2], postings[3]}, t3, "market"));

  auto released = store_->prune("market", t2);

  ASSERT_TRUE(released.ok()) << released.err().describe();
  EXPECT_EQ(*released, 2);
  auto by_id = stored_by_id();
  EXPECT_FALSE(by_id.contains(postings[0].id));
  EXPECT_FALSE(by_id.contains(postings[1].id));
  EXPECT_TRUE(by_id.contains(postings[2].id));
  EXPECT_TRUE(by_id.contains(postings[3].id));
}

TEST_P(store_contract, prune_keeps_postings_another_feed_lists) {
  auto postings = real_postings(2);
  write(page_of(postings, t1, "market"));
  write(page_of({postings[0]}, t1, "python"));

  auto released = store_->prune("market", t2);

  ASSERT_TRUE(released.ok()) << released.err().describe();
  EXPECT_EQ(*released, 2);
  auto by_id = stored_by_id();
  ASSERT_TRUE(by_id.contains(postings[0].id));
  EXPECT_EQ(by_id.at(postings[0].id).feeds, std::vector<std::string>{"python"});
  EXPECT_EQ(by_id.at(postings[0].id).posting, postings[0]);
  EXPECT_FALSE(by_id.contains(postings[1].id));
}

TEST_P(store_contract, prune_uses_last_seen_not_first_seen) {
  auto postings = real_postings(2);
  write(page_of(postings, t1, "market"));
  write(page_of({postings[0]}, t3, "market"));

  auto released = store_->prune("market", t2);

  ASSERT_TRUE(released.ok()) << released.err().describe();
  EXPECT_EQ(*released, 1);
  auto by_id = stored_by_id();
  EXPECT_TRUE(by_id.contains(postings[0].id)) << "seen again after the cut-off";
  EXPECT_FALSE(by_id.contains(postings[1].id));
}

TEST_P(store_contract, prune_leaves_other_feeds_untouched) {
  auto postings = real_postings(3);
  write(page_of(postings, t1, "python"));

  auto released = store_->prune("market", t3);

  ASSERT_TRUE(released.ok()) << released.err().describe();
  EXPECT_EQ(*released, 0);
  auto by_id = stored_by_id();
  ASSERT_EQ(by_id.size(), 3u);
  for (const auto& posting : postings) {
    EXPECT_EQ(by_id.at(posting.id).feeds, std::vector<std::string>{"python"}) << posting.id;
  }
}

TEST_P(store_contract, prune_is_idempotent_and_feed_returns) {
  auto postings = real_postings(2);
  write(page_of(postings, t1, "market"));
  write(page_of({postings[0]}, t1, "python"));
  ASSERT_TRUE(store_->prune("market", t2).ok());

  auto again = store_->prune("market", t2);
  write(page_of({postings[0]}, t3, "market"));

  ASSERT_TRUE(again.ok()) << again.err().describe();
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(stored(postings[0].id).feeds, (std::vector<std::string>{"python", "market"}));
}

INSTANTIATE_TEST_SUITE_P(backends, store_contract,
                         ::testing::ValuesIn(testing::store_backend_names()),
                         [](const auto& backend) { return backend.param; });

}  // namespace
}  // namespace job_fetcher::store
