// open_store(): URL dispatch and the config errors it returns before any connection is made.
#include <gtest/gtest.h>

#include <filesystem>

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

TEST(open_store, missing_file_rejected_when_reading) {
  auto path = temp_sqlite_path();
  auto settings = settings_with_url("sqlite:" + path);
  settings.create_sqlite_file = false;

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
