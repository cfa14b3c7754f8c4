// SQLite-only behaviour: the file format, the compatibility view, several connections on one
// file, and path checks.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include <filesystem>
#include <latch>
#include <mutex>
#include <thread>

#include "real_postings.hpp"
#include "store/factories.hpp"
#include "store_backends.hpp"

namespace job_fetcher::store {
namespace {

using namespace std::chrono_literals;
using testing::real_postings;
using testing::temp_sqlite_path;

const timestamp t1 = parse_timestamp("2025-06-16T10:00:00.000Z").value();

// A read-only connection for checking what the store wrote, as an outside reader would.
class raw_reader {
 public:
  explicit raw_reader(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path;
    }
  }
  raw_reader(const raw_reader&) = delete;
  raw_reader& operator=(const raw_reader&) = delete;
  ~raw_reader() { sqlite3_close_v2(db_); }

  // Runs a query and returns each cell as text, with "NULL" for null and the type prefixed
  // ("integer:1", "text:12.50").
  std::vector<std::vector<std::string>> typed_rows(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::vector<std::vector<std::string>> rows;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db_);
      return rows;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) row.push_back(typed_cell(stmt, i));
      rows.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    return rows;
  }

  std::vector<std::string> column_names(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::vector<std::string> names;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db_);
      return names;
    }
    for (int i = 0; i < sqlite3_column_count(stmt); ++i)
      names.push_back(sqlite3_column_name(stmt, i));
    sqlite3_finalize(stmt);
    return names;
  }

 private:
  static std::string typed_cell(sqlite3_stmt* stmt, int column) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
    switch (sqlite3_column_type(stmt, column)) {
      case SQLITE_NULL:
        return "NULL";
      case SQLITE_INTEGER:
        return std::string("integer:") + text;
      case SQLITE_FLOAT:
        return std::string("real:") + text;
      default:
        return std::string("text:") + text;
    }
  }

  sqlite3* db_ = nullptr;
};

std::unique_ptr<job_store> open_migrated(const std::string& path) {
  auto opened = make_sqlite_store(path);
  EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.err().describe());
  if (!opened.ok()) return nullptr;
  auto migrated = (*opened)->migrate();
  EXPECT_TRUE(migrated.ok()) << (migrated.ok() ? "" : migrated.err().describe());
  return std::move(*opened);
}

page_write page_of(std::vector<upwork::posting> postings) {
  page_write page;
  page.feed = "python";
  page.postings = std::move(postings);
  page.seen_at = t1;
  return page;
}

TEST(sqlite_store, streaming_view_has_original_columns) {
  auto path = temp_sqlite_path();
  auto store = open_migrated(path);
  ASSERT_NE(store, nullptr);

  raw_reader reader(path);

  EXPECT_EQ(reader.column_names("SELECT * FROM upwork_jobs_streaming"),
            (std::vector<std::string>{"title", "link", "description", "skills", "published_date",
                                      "is_hourly", "hourly_low", "hourly_high", "budget"}));
}

TEST(sqlite_store, streaming_view_converts_values) {
  auto path = temp_sqlite_path();
  auto store = open_migrated(path);
  ASSERT_NE(store, nullptr);
  auto postings = real_postings(3);
  postings[0].skills = {"C++", "SQL", "a, b"};
  postings[0].job_type = "hourly";
  postings[0].hourly_min = "12.50";
  postings[0].hourly_max = "40.00";
  postings[0].fixed_budget.reset();
  postings[0].published_at = parse_timestamp("2025-06-15T18:59:18.224Z").value();
  postings[1].skills.clear();
  postings[1].job_type = "fixed";
  postings[1].hourly_min.reset();
  postings[1].hourly_max.reset();
  postings[1].fixed_budget = "800.00";
  postings[2].job_type.reset();
  for (auto& posting : postings) testing::rehash(posting);
  ASSERT_TRUE(store->write_page(page_of(postings)).ok());

  raw_reader reader(path);
  auto rows = reader.typed_rows(
      "SELECT skills, published_date, is_hourly, hourly_low, hourly_high, budget, link "
      "FROM upwork_jobs_streaming WHERE link = '" +
      postings[0].link + "'");
  auto fixed = reader.typed_rows(
      "SELECT skills, is_hourly, hourly_low, budget FROM upwork_jobs_streaming WHERE link = '" +
      postings[1].link + "'");
  auto unknown = reader.typed_rows("SELECT is_hourly FROM upwork_jobs_streaming WHERE link = '" +
                                   postings[2].link + "'");

  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{
                         "text:C++, SQL, a, b", "text:2025-06-15T18:59:18.224Z", "integer:1",
                         "text:12.50", "text:40.00", "NULL", "text:" + postings[0].link}));
  ASSERT_EQ(fixed.size(), 1u);
  EXPECT_EQ(fixed[0], (std::vector<std::string>{"text:", "integer:0", "NULL", "text:800.00"}));
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0], std::vector<std::string>{"NULL"});
}

TEST(sqlite_store, columns_keep_exact_text_types) {
  auto path = temp_sqlite_path();
  auto store = open_migrated(path);
  ASSERT_NE(store, nullptr);
  auto postings = real_postings(1);
  postings[0].hourly_min = "10.10";
  postings[0].skills = {"Go", "Rust"};
  testing::rehash(postings[0]);
  ASSERT_TRUE(store->write_page(page_of(postings)).ok());

  raw_reader reader(path);
  auto rows = reader.typed_rows(
      "SELECT hourly_min, skills, feeds, published_at, first_seen_at, revision FROM upwork_jobs");

  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "text:10.10");
  EXPECT_EQ(rows[0][1], "text:[\"Go\",\"Rust\"]");
  EXPECT_EQ(rows[0][2], "text:[\"python\"]");
  EXPECT_EQ(rows[0][3], "text:" + format_timestamp(postings[0].published_at));
  EXPECT_EQ(rows[0][4], "text:2025-06-16T10:00:00.000Z");
  EXPECT_EQ(rows[0][5], "integer:1");
}

TEST(sqlite_store, short_decimal_is_stored_with_two_places) {
  auto store = open_migrated(temp_sqlite_path());
  ASSERT_NE(store, nullptr);
  auto postings = real_postings(1);
  postings[0].job_type = "fixed";
  postings[0].fixed_budget = "12.5";
  testing::rehash(postings[0]);

  ASSERT_TRUE(store->write_page(page_of(postings)).ok());

  auto rows = store->read_postings(1);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].posting.fixed_budget, "12.50");
}

TEST(sqlite_store, invalid_decimal_is_rejected) {
  auto store = open_migrated(temp_sqlite_path());
  ASSERT_NE(store, nullptr);
  for (const char* bad : {"1e3", "12.345", "abc", "", "12345678901.00", "1,000.00"}) {
    auto postings = real_postings(1);
    postings[0].hourly_max = bad;
    testing::rehash(postings[0]);

    auto written = store->write_page(page_of(postings));

    ASSERT_FALSE(written.ok()) << bad;
    EXPECT_EQ(written.err().kind, error_class::store) << bad;
    EXPECT_NE(written.err().message.find("hourly_max"), std::string::npos) << bad;
  }
}

TEST(sqlite_store, unique_violation_names_sqlite_constraint) {
  auto store = open_migrated(temp_sqlite_path());
  ASSERT_NE(store, nullptr);
  auto postings = real_postings(2);
  postings[1].ciphertext = postings[0].ciphertext;
  testing::rehash(postings[1]);

  auto written = store->write_page(page_of(postings));

  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.err().message.find("UNIQUE constraint failed: upwork_jobs.ciphertext"),
            std::string::npos)
      << written.err().message;
}

TEST(sqlite_store, migrations_are_recorded_once) {
  auto path = temp_sqlite_path();
  auto store = open_migrated(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->migrate().ok());
  auto second = open_migrated(path);
  ASSERT_NE(second, nullptr);

  raw_reader reader(path);

  EXPECT_EQ(reader.typed_rows("SELECT version FROM schema_migrations"),
            std::vector<std::vector<std::string>>{{"integer:1"}});
}

TEST(sqlite_store, concurrent_migrations_apply_once) {
  auto path = temp_sqlite_path();
  constexpr int processes = 4;
  std::vector<std::unique_ptr<job_store>> stores;
  for (int i = 0; i < processes; ++i) {
    auto opened = make_sqlite_store(path);
    ASSERT_TRUE(opened.ok()) << opened.err().describe();
    stores.push_back(std::move(*opened));
  }

  std::latch start(processes);
  std::vector<std::string> failures(processes);
  std::vector<std::thread> threads;
  for (int i = 0; i < processes; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto migrated = stores[i]->migrate();
      if (!migrated) failures[i] = migrated.err().describe();
    });
  }
  for (auto& thread : threads) thread.join();

  for (const auto& failure : failures) EXPECT_EQ(failure, "");
  raw_reader reader(path);
  EXPECT_EQ(reader.typed_rows("SELECT version FROM schema_migrations"),
            std::vector<std::vector<std::string>>{{"integer:1"}});
}

// Two cold Lambda copies of one event open the same new file at the same moment. Each round
// forks processes that wait on a pipe, then all open and migrate the new file at once.
TEST(sqlite_store, concurrent_first_opens_succeed) {
  constexpr int rounds = 40;
  constexpr int processes = 4;
  for (int round = 0; round < rounds; ++round) {
    auto path = temp_sqlite_path();
    int go[2];
    ASSERT_EQ(::pipe(go), 0);
    std::vector<pid_t> children;
    for (int i = 0; i < processes; ++i) {
      pid_t child = ::fork();
      ASSERT_GE(child, 0);
      if (child == 0) {
        ::close(go[1]);
        char byte = 0;
        if (::read(go[0], &byte, 1) != 0) ::_exit(3);  // the parent closes the pipe to start
        auto opened = make_sqlite_store(path);
        if (!opened) {
          std::fprintf(stderr, "%s\n", opened.err().describe().c_str());
          ::_exit(1);
        }
        auto migrated = (*opened)->migrate();
        if (!migrated) std::fprintf(stderr, "%s\n", migrated.err().describe().c_str());
        ::_exit(migrated ? 0 : 2);
      }
      children.push_back(child);
    }
    ::close(go[0]);
    ::close(go[1]);
    for (pid_t child : children) {
      int status = 0;
      ASSERT_EQ(::waitpid(child, &status, 0), child);
      ASSERT_TRUE(WIFEXITED(status)) << "round " << round << ": a process died on " << path;
      ASSERT_EQ(WEXITSTATUS(status), 0)
          << "round " << round << ": a process failed to open or migrate " << path;
    }
  }
}

TEST(sqlite_store, database_uses_wal_journal) {
  auto path = temp_sqlite_path();
  auto store = open_migrated(path);
  ASSERT_NE(store, nullptr);

  raw_reader reader(path);

  EXPECT_EQ(reader.typed_rows("PRAGMA journal_mode"),
            std::vector<std::vector<std::string>>{{"text:wal"}});
}

TEST(sqlite_store, streaming_view_is_read_only) {
  auto path = temp_sqlite_path();
  auto store = open_migrated(path);
  ASSERT_NE(store, nullptr);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);

  int code = sqlite3_exec(db, "INSERT INTO upwork_jobs_streaming (title) VALUES ('x')", nullptr,
                          nullptr, nullptr);
  sqlite3_close(db);

  EXPECT_NE(code, SQLITE_OK);
}

TEST(sqlite_store, rows_survive_reopen) {
  auto path = temp_sqlite_path();
  auto postings = real_postings(5);
  {
    auto store = open_migrated(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->write_page(page_of(postings)).ok());
  }

  auto reopened = open_migrated(path);
  ASSERT_NE(reopened, nullptr);
  auto rows = reopened->read_postings(100);

  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 5u);
}

TEST(sqlite_store, two_instances_on_one_file_race_for_lease) {
  auto path = temp_sqlite_path();
  auto first = open_migrated(path);
  auto second = open_migrated(path);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);

  for (int round = 0; round < 50; ++round) {
    std::string feed = "feed-" + std::to_string(round);
    std::latch start(2);
    result<bool> got_first = false;
    result<bool> got_second = false;
    std::thread a([&] {
      start.arrive_and_wait();
      got_first = first->acquire_lease(feed, "process-a", t1, t1 + 5min);
    });
    std::thread b([&] {
      start.arrive_and_wait();
      got_second = second->acquire_lease(feed, "process-b", t1, t1 + 5min);
    });
    a.join();
    b.join();

    ASSERT_TRUE(got_first.ok()) << got_first.err().describe();
    ASSERT_TRUE(got_second.ok()) << got_second.err().describe();
    EXPECT_NE(*got_first, *got_second) << "round " << round;
  }
}

TEST(sqlite_store, two_instances_write_pages_concurrently) {
  auto path = temp_sqlite_path();
  auto first = open_migrated(path);
  auto second = open_migrated(path);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  auto postings = real_postings(200);
  std::vector<upwork::posting> evens;
  std::vector<upwork::posting> odds;
  for (std::size_t i = 0; i < postings.size(); ++i)
    (i % 2 == 0 ? evens : odds).push_back(postings[i]);

  std::vector<std::string> failures;
  std::mutex failures_mutex;
  auto write_all = [&](job_store& store, const std::vector<upwork::posting>& mine) {
    for (std::size_t offset = 0; offset < mine.size(); offset += 10) {
      auto end = std::min(mine.size(), offset + 10);
      auto written = store.write_page(page_of(
          {mine.begin() + static_cast<long>(offset), mine.begin() + static_cast<long>(end)}));
      if (!written) {
        std::lock_guard lock(failures_mutex);
        failures.push_back(written.err().describe());
      }
    }
  };
  std::thread a([&] { write_all(*first, evens); });
  std::thread b([&] { write_all(*second, odds); });
  a.join();
  b.join();

  EXPECT_TRUE(failures.empty()) << failures.front();
  auto rows = first->read_postings(1000);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 200u);
}

TEST(sqlite_store, missing_directory_is_config_error) {
  std::string path = temp_sqlite_path() + ".d/missing/jobs.db";

  auto opened = make_sqlite_store(path);

  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::config);
  EXPECT_NE(opened.err().message.find(std::filesystem::path(path).parent_path().string()),
            std::string::npos)
      << opened.err().message;
  EXPECT_NE(opened.err().message.find("sqlite:PATH"), std::string::npos) << opened.err().message;
}

TEST(sqlite_store, directory_as_path_is_config_error) {
  auto dir = std::filesystem::path(temp_sqlite_path()).parent_path();

  auto opened = make_sqlite_store(dir.string());

  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::config);
  EXPECT_NE(opened.err().message.find(dir.string()), std::string::npos) << opened.err().message;
}

TEST(sqlite_store, file_as_directory_is_config_error) {
  auto file = temp_sqlite_path();
  ASSERT_NE(open_migrated(file), nullptr);
  std::string path = file + "/jobs.db";

  auto opened = make_sqlite_store(path);

  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::config);
  EXPECT_NE(opened.err().message.find(file), std::string::npos) << opened.err().message;
}

TEST(sqlite_store, read_only_directory_is_config_error) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can write to read-only directories";
  std::filesystem::path dir = temp_sqlite_path() + ".readonly";
  std::filesystem::create_directory(dir);
  std::filesystem::permissions(
      dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);

  auto opened = make_sqlite_store((dir / "jobs.db").string());

  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::config);
  EXPECT_NE(opened.err().message.find(dir.string()), std::string::npos) << opened.err().message;
}

}  // namespace
}  // namespace job_fetcher::store
