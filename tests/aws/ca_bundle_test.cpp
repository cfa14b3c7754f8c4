#include "aws/ca_bundle.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace job_fetcher::aws {
namespace {

namespace fs = std::filesystem;

class ca_bundle_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ca_bundle_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_file(const std::string& name, const std::string& content) {
    fs::path path = dir_ / name;
    std::ofstream(path) << content;
    return path.string();
  }
  std::string missing(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(ca_bundle_test, ssl_cert_file_wins) {
  std::string env_file = write_file("env.pem", "-----BEGIN CERTIFICATE-----\n");
  std::string system_file = write_file("system.pem", "-----BEGIN CERTIFICATE-----\n");

  auto found = find_ca_bundle(env_file, {system_file});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, env_file);
}

TEST_F(ca_bundle_test, first_readable_candidate_is_chosen) {
  std::string second = write_file("second.pem", "-----BEGIN CERTIFICATE-----\n");
  std::string third = write_file("third.pem", "-----BEGIN CERTIFICATE-----\n");

  auto found = find_ca_bundle(std::nullopt, {missing("first.pem"), second, third});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, second);
}

TEST_F(ca_bundle_test, unreadable_ssl_cert_file_falls_back) {
  std::string system_file = write_file("system.pem", "-----BEGIN CERTIFICATE-----\n");

  auto found = find_ca_bundle(missing("env.pem"), {system_file});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, system_file);
}

TEST_F(ca_bundle_test, empty_file_and_directory_are_skipped) {
  std::string empty = write_file("empty.pem", "");
  fs::create_directories(dir_ / "folder.pem");
  std::string good = write_file("good.pem", "-----BEGIN CERTIFICATE-----\n");

  auto found = find_ca_bundle(std::nullopt, {empty, (dir_ / "folder.pem").string(), good});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, good);
}

TEST_F(ca_bundle_test, error_lists_every_path_tried) {
  auto found = find_ca_bundle(missing("env.pem"), {missing("a.crt"), missing("b.crt")});

  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.err().kind, error_class::config);
  for (const auto& name : {"env.pem", "a.crt", "b.crt"}) {
    EXPECT_NE(found.err().message.find(missing(name)), std::string::npos) << found.err().message;
  }
  EXPECT_NE(found.err().message.find("SSL_CERT_FILE"), std::string::npos);
}

TEST(ca_bundle, amazon_linux_path_comes_first) {
  ASSERT_FALSE(default_ca_bundle_paths().empty());
  EXPECT_EQ(default_ca_bundle_paths().front(), "/etc/pki/tls/certs/ca-bundle.crt");
}

}  // namespace
}  // namespace job_fetcher::aws
