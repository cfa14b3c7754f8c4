// open_store(): URL dispatch and the config errors it returns before any connection is made.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "real_postings.hpp"
#include "store/store.hpp"
#include "store_backends.hpp"

namespace job_fetcher::store {
namespace {

using testing::temp_sqlite_path;

store_settings settings_with_url(std::string url) {
  store_settings settings;
  settings.url = std::move(url);
  return settings;
}

TEST(open_store, sqlite_url_opens_store) {
  auto path = temp_sqlite_path();

  auto opened = open_store(settings_with_url("sqlite:" + path));

  ASSERT_TRUE(opened.ok()) << opened.err().describe();
  EXPECT_TRUE((*opened)->migrate().ok());
  EXPECT_TRUE(std::filesystem::exists(path));
}

// A run shares its store between the fetch thread (token cache) and the page writer thread.
// SQLite with SQLITE_OPEN_NOMUTEX corrupted the file when both used one connection at once.
TEST(open_store, store_shared_between_threads) {
  auto path = temp_sqlite_path();
  auto opened = open_store(settings_with_url("sqlite:" + path));
  ASSERT_TRUE(opened.ok()) << opened.err().describe();
  auto& store = **opened;
  ASSERT_TRUE(store.migrate().ok());
  auto postings = testing::real_postings(400);
  const auto t1 = parse_timestamp("2025-06-16T10:00:00.000Z").value();

  std::string page_failure;
  std::thread writer([&] {
    for (std::size_t first = 0; first < postings.size() && page_failure.empty(); first += 10) {
      page_write page;
      page.feed = "python";
      page.seen_at = t1;
      page.postings.assign(postings.begin() + static_cast<long>(first),
                           postings.begin() + static_cast<long>(first + 10));
      auto written = store.write_page(page);
      if (!written) page_failure = written.err().describe();
    }
  });
  std::string token_failure;
  for (int i = 0; i < 400 && token_failure.empty(); ++i) {
    cached_token token{"visitor", secret("token-" + std::to_string(i)), 4'000'000'000, t1};
    auto written = store.write_token(token);
    auto read = store.read_token("visitor", t1);
    if (!written) token_failure = written.err().describe();
    if (!read) token_failure = read.err().describe();
  }
  writer.join();

  EXPECT_EQ(page_failure, "");
  EXPECT_EQ(token_failure, "");
  auto rows = store.read_postings(1000);
  ASSERT_TRUE(rows.ok()) << rows.err().describe();
  EXPECT_EQ(rows->size(), 400u);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* check = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &check, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(check), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(check, 0)), "ok");
  sqlite3_finalize(check);
  sqlite3_close(db);
}

TEST(open_store, memory_database_rejected) {
  for (const char* url : {"sqlite::memory:", "sqlite:file:jobs.db?mode=memory"}) {
    auto opened = open_store(settings_with_url(url));

    ASSERT_FALSE(opened.ok()) << url;
    EXPECT_EQ(opened.err().kind, error_class::config) << url;
  }
}

TEST(open_store, file_not_database_is_config_error) {
  auto path = temp_sqlite_path();
  {
    std::ofstream text(path);
    text << "these are notes, not a database\n";
  }

  auto opened = open_store(settings_with_url("sqlite:" + path));

  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::config);
  EXPECT_NE(opened.err().message.find("is not a SQLite database"), std::string::npos)
      << opened.err().message;
}

TEST(open_store, missing_file_rejected_when_reading) {
  auto path = temp_sqlite_path();
  auto settings = settings_with_url("sqlite:" + path);
  settings.read_only = true;

  auto opened = open_store(settings);

  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::config);
  EXPECT_NE(opened.err().message.find(path + " does not exist"), std::string::npos)
      << opened.err().message;
  EXPECT_FALSE(std::filesystem::exists(path));
}

// Port numbers are checked before any connection, because libpq checks them only when connecting.
TEST(open_store, postgres_bad_port_is_config_error) {
  for (const char* url : {"postgres://job@127.0.0.1:xx/db", "postgres://job@127.0.0.1:70000/db",
                          "postgresql://job@h1:5432,h2:-1/db"}) {
    auto opened = open_store(settings_with_url(url));

    ASSERT_FALSE(opened.ok()) << url;
    EXPECT_EQ(opened.err().kind, error_class::config) << url;
    EXPECT_NE(opened.err().message.find("port"), std::string::npos) << opened.err().message;
  }
}

// An unencoded '/' or '@' in the password would move part of it into the host or port name.
TEST(open_store, postgres_unencoded_password_rejected) {
  for (const char* url : {"postgres://job:S3cr/Pw@127.0.0.1:1/db",
                          "postgres://job:S3cr@Pw@127.0.0.1:1/db",
                          "postgresql://job:S3cr?Pw@127.0.0.1/db"}) {
    auto opened = open_store(settings_with_url(url));

    ASSERT_FALSE(opened.ok()) << url;
    EXPECT_EQ(opened.err().kind, error_class::config) << url;
    EXPECT_EQ(opened.err().describe().find("S3cr"), std::string::npos) << opened.err().describe();
    EXPECT_EQ(opened.err().describe().find("Pw"), std::string::npos) << opened.err().describe();
    EXPECT_NE(opened.err().message.find("percent-encoded"), std::string::npos)
        << opened.err().message;
  }
}

TEST(open_store, postgres_parse_error_masks_password) {
  for (const char* url : {"postgres://job:Sw0rdfish@[::1:5432/db", "postgres://job:Sw0rdfish%zz@h/db"}) {
    auto opened = open_store(settings_with_url(url));

    ASSERT_FALSE(opened.ok()) << url;
    EXPECT_EQ(opened.err().kind, error_class::config) << url;
    EXPECT_EQ(opened.err().describe().find("Sw0rdfish"), std::string::npos) << opened.err().describe();
    EXPECT_NE(opened.err().message.find("postgres://USER"), std::string::npos)
        << opened.err().message;
  }
}

TEST(open_store, bare_path_suggests_sqlite_scheme) {
  auto path = temp_sqlite_path();

  auto opened = open_store(settings_with_url(path));

  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::config);
  EXPECT_NE(opened.err().message.find("sqlite:" + path), std::string::npos) << opened.err().message;
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(open_store, relative_bare_path_is_config_error) {
  auto opened = open_store(settings_with_url("./job-fetcher.db"));

  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::config);
}

TEST(open_store, sqlite_with_slashes_is_config_error) {
  auto opened = open_store(settings_with_url("sqlite:///tmp/jobs.db"));

  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::config);
  EXPECT_NE(opened.err().message.find("sqlite:PATH"), std::string::npos) << opened.err().message;
}

TEST(open_store, sqlite_without_path_is_config_error) {
  auto opened = open_store(settings_with_url("sqlite:"));

  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::config);
}

TEST(open_store, unknown_scheme_lists_valid_forms) {
  auto opened = open_store(settings_with_url("mysql://admin:hunter2@127.0.0.1/jobs"));

  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::config);
  EXPECT_NE(opened.err().message.find("'mysql'"), std::string::npos) << opened.err().message;
  EXPECT_NE(opened.err().message.find("sqlite:PATH"), std::string::npos) << opened.err().message;
  EXPECT_NE(opened.err().message.find("postgres://"), std::string::npos) << opened.err().message;
  EXPECT_EQ(opened.err().message.find("hunter2"), std::string::npos) << opened.err().message;
}

TEST(open_store, unwritable_sqlite_path_is_config_error) {
  std::string path = temp_sqlite_path() + ".d/no/such/dir/jobs.db";

  auto opened = open_store(settings_with_url("sqlite:" + path));

  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::config);
  EXPECT_NE(opened.err().message.find(std::filesystem::path(path).parent_path().string()),
            std::string::npos)
      << opened.err().message;
}

TEST(open_store, two_store_urls_are_config_error) {
  store_settings settings = settings_with_url("postgres://127.0.0.1:1/jobs");
  settings.postgrest_url = "http://127.0.0.1:1/rest/v1";

  auto opened = open_store(settings);

  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::config);
}

TEST(open_store, unreachable_postgres_is_store_error) {
  // Port 1 on loopback refuses connections, so libpq fails at once.
  auto opened = open_store(settings_with_url("postgres://job_fetcher@127.0.0.1:1/jobs"));

  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().kind, error_class::store);
}

}  // namespace
}  // namespace job_fetcher::store
