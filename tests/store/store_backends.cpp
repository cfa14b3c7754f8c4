#include "store_backends.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "doubles/postgrest/postgres_backends.hpp"
#include "store/factories.hpp"

namespace job_fetcher::store::testing {

namespace {

// A directory under the system temp folder, created on first use and removed at exit.
class temp_directory {
 public:
  temp_directory() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "job-fetcher-store-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = pattern;
  }
  temp_directory(const temp_directory&) = delete;
  temp_directory& operator=(const temp_directory&) = delete;
  ~temp_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::unique_ptr<job_store> open_migrated_sqlite(const std::string& path) {
  auto opened = make_sqlite_store(path);
  if (!opened) throw std::runtime_error(opened.err().describe());
  auto migrated = (*opened)->migrate();
  if (!migrated) throw std::runtime_error(migrated.err().describe());
  return std::move(*opened);
}

store_backend sqlite_backend() {
  store_backend backend;
  backend.name = "sqlite";
  backend.make_empty = [] { return open_migrated_sqlite(temp_sqlite_path()); };
  backend.make_sharing = [](int count) {
    std::string path = temp_sqlite_path();
    std::vector<std::unique_ptr<job_store>> stores;
    for (int i = 0; i < count; ++i) stores.push_back(open_migrated_sqlite(path));
    return stores;
  };
  return backend;
}

}  // namespace

std::vector<store_backend>& store_backends() {
  static std::vector<store_backend> backends{
      sqlite_backend(),
      job_fetcher::testing::postgres_backend(),
      job_fetcher::testing::postgrest_backend(),
  };
  return backends;
}

std::vector<std::string> store_backend_names() {
  std::vector<std::string> names;
  for (const auto& backend : store_backends()) names.push_back(backend.name);
  return names;
}

const store_backend& find_store_backend(const std::string& name) {
  for (const auto& backend : store_backends()) {
    if (backend.name == name) return backend;
  }
  throw std::out_of_range("unknown store backend " + name);
}

std::string temp_sqlite_path() {
  static temp_directory directory;
  static std::atomic<int> counter{0};
  return (directory.path() / fmt::format("store-{}.db", counter.fetch_add(1))).string();
}

}  // namespace job_fetcher::store::testing
