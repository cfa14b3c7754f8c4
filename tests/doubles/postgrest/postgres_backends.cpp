#include "doubles/postgrest/postgres_backends.hpp"

#include <stdexcept>

#include "doubles/postgrest/pg_test_database.hpp"
#include "doubles/postgrest/postgrest_double.hpp"
#include "store/factories.hpp"
#include "store/postgrest_store.hpp"

namespace job_fetcher::testing {

namespace {

using store::job_store;

constexpr const char* double_key = "test-postgrest-key";

std::unique_ptr<job_store> open_migrated_postgres(const std::string& conninfo) {
  auto opened = store::make_postgres_store(conninfo);
  if (!opened) throw std::runtime_error(opened.err().describe());
  auto migrated = (*opened)->migrate();
  if (!migrated) throw std::runtime_error(migrated.err().describe());
  return std::move(*opened);
}

// A PostgREST store that keeps its double running for as long as the store lives.
class store_with_double final : public job_store {
 public:
  store_with_double(std::shared_ptr<postgrest_double> server, std::unique_ptr<job_store> inner)
      : server_(std::move(server)), inner_(std::move(inner)) {}

  result<void> migrate() override { return inner_->migrate(); }
  result<store::schema_versions> schema_version() override { return inner_->schema_version(); }
  result<bool> acquire_lease(const std::string& feed, const std::string& owner, timestamp now,
                             timestamp until) override {
    return inner_->acquire_lease(feed, owner, now, until);
  }
  result<void> release_lease(const std::string& feed, const std::string& owner) override {
    return inner_->release_lease(feed, owner);
  }
  result<std::optional<store::watermark>> load_watermark(const std::string& feed) override {
    return inner_->load_watermark(feed);
  }
  result<std::int64_t> begin_run(const std::string& feed, timestamp started_at) override {
    return inner_->begin_run(feed, started_at);
  }
  result<store::upsert_counts> write_page(const store::page_write& page) override {
    return inner_->write_page(page);
  }
  result<void> finish_run(const store::run_record& run) override {
    return inner_->finish_run(run);
  }
  result<std::vector<store::run_record>> recent_runs(const std::optional<std::string>& feed,
                                                     int limit) override {
    return inner_->recent_runs(feed, limit);
  }
  result<std::optional<timestamp>> newest_published_at() override {
    return inner_->newest_published_at();
  }
  result<std::optional<store::cached_token>> read_token(const std::string& name,
                                                        timestamp now) override {
    return inner_->read_token(name, now);
  }
  result<void> write_token(const store::cached_token& token) override {
    return inner_->write_token(token);
  }
  using store::job_store::read_postings;
  result<std::vector<store::stored_posting>> read_postings(
      int limit, const std::optional<std::string>& feed) override {
    return inner_->read_postings(limit, feed);
  }
  result<std::int64_t> prune(const std::string& feed, timestamp older_than) override {
    return inner_->prune(feed, older_than);
  }

 private:
  std::shared_ptr<postgrest_double> server_;
  std::unique_ptr<job_store> inner_;
};

std::unique_ptr<job_store> open_postgrest(const std::shared_ptr<postgrest_double>& server) {
  store::store_settings settings;
  settings.url.clear();
  settings.postgrest_url = server->url();
  settings.postgrest_key = secret{double_key};
  settings.postgrest_batch_rows = 16;
  settings.postgrest_parallelism = 3;
  auto opened = store::make_postgrest_store(settings);
  if (!opened) throw std::runtime_error(opened.err().describe());
  auto checked = (*opened)->migrate();
  if (!checked) throw std::runtime_error(checked.err().describe());
  return std::make_unique<store_with_double>(server, std::move(*opened));
}

std::shared_ptr<postgrest_double> start_double_on_fresh_schema() {
  std::string conninfo = fresh_postgres_schema();
  open_migrated_postgres(conninfo);
  return std::make_shared<postgrest_double>(conninfo, double_key);
}

}  // namespace

store::testing::store_backend postgres_backend() {
  store::testing::store_backend backend;
  backend.name = "postgres";
  backend.unavailable_reason = postgres_unavailable_reason();
  backend.make_empty = [] { return open_migrated_postgres(fresh_postgres_schema()); };
  backend.make_sharing = [](int count) {
    std::string conninfo = fresh_postgres_schema();
    std::vector<std::unique_ptr<job_store>> stores;
    for (int i = 0; i < count; ++i) stores.push_back(open_migrated_postgres(conninfo));
    return stores;
  };
  return backend;
}

store::testing::store_backend postgrest_backend() {
  store::testing::store_backend backend;
  backend.name = "postgrest";
  backend.unavailable_reason = postgres_unavailable_reason();
  backend.make_empty = [] { return open_postgrest(start_double_on_fresh_schema()); };
  backend.make_sharing = [](int count) {
    auto server = start_double_on_fresh_schema();
    std::vector<std::unique_ptr<job_store>> stores;
    for (int i = 0; i < count; ++i) stores.push_back(open_postgrest(server));
    return stores;
  };
  return backend;
}

}  // namespace job_fetcher::testing
