#include "doubles/postgrest/pg_test_database.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "store/postgres_store.hpp"

namespace job_fetcher::testing {

namespace {

// Drops the schemas this process created, at exit.
class schema_registry {
 public:
  schema_registry() = default;
  schema_registry(const schema_registry&) = delete;
  schema_registry& operator=(const schema_registry&) = delete;
  ~schema_registry() {
    if (schemas_.empty()) return;
    auto db = store::postgres::connection::open(test_postgres_url());
    if (!db) return;
    for (const auto& schema : schemas_) {
      (void)db->execute(fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", schema));
    }
  }

  void add(std::string schema) {
    std::lock_guard lock(mutex_);
    schemas_.push_back(std::move(schema));
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> schemas_;
};

schema_registry& registry() {
  static schema_registry instance;
  return instance;
}

}  // namespace

std::string test_postgres_url() {
  const char* value = std::getenv(test_postgres_url_variable);
  return value ? value : "";
}

std::string postgres_unavailable_reason() {
  if (!test_postgres_url().empty()) return "";
  return fmt::format("{} is not set; run scripts/pg-cluster.sh start and export it from "
                     "build/pg-cluster.env",
                     test_postgres_url_variable);
}

std::string with_search_path(const std::string& url, const std::string& schema) {
  char separator = url.find('?') == std::string::npos ? '?' : '&';
  return fmt::format("{}{}options=-csearch_path%3D{}", url, separator, schema);
}

std::string fresh_postgres_schema() {
  static std::atomic<int> counter{0};
  std::string url = test_postgres_url();
  if (url.empty()) throw std::runtime_error(postgres_unavailable_reason());

  std::string schema = fmt::format("jf_test_{}_{}", ::getpid(), counter.fetch_add(1));
  auto db = store::postgres::connection::open(url);
  if (!db) throw std::runtime_error(db.err().describe());
  auto created = db->execute(fmt::format("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}",
                                         schema));
  if (!created) throw std::runtime_error(created.err().describe());
  registry().add(schema);
  return with_search_path(url, schema);
}

}  // namespace job_fetcher::testing
