// A job_store shared between threads: the run's page writer thread writes pages while the fetch
// thread reads and writes the token cache. Neither a SQLite connection opened with
// SQLITE_OPEN_NOMUTEX nor a libpq connection may be used by two threads at once, so every call
// here holds one mutex.
#include <mutex>
#include <type_traits>
#include <utility>

#include "store/factories.hpp"

namespace job_fetcher::store {

namespace {

class synchronized_store final : public job_store {
 public:
  explicit synchronized_store(std::unique_ptr<job_store> inner) : inner_(std::move(inner)) {}

  using job_store::read_postings;

  result<void> migrate() override { return locked([&] { return inner_->migrate(); }); }

  result<schema_versions> schema_version() override {
    return locked([&] { return inner_->schema_version(); });
  }

  result<bool> acquire_lease(const std::string& feed, const std::string& owner, timestamp now,
                             timestamp until) override {
    return locked([&] { return inner_->acquire_lease(feed, owner, now, until); });
  }

  result<void> release_lease(const std::string& feed, const std::string& owner) override {
    return locked([&] { return inner_->release_lease(feed, owner); });
  }

  result<std::optional<watermark>> load_watermark(const std::string& feed) override {
    return locked([&] { return inner_->load_watermark(feed); });
  }

  result<std::int64_t> begin_run(const std::string& feed, timestamp started_at) override {
    return locked([&] { return inner_->begin_run(feed, started_at); });
  }

  result<upsert_counts> write_page(const page_write& page) override {
    return locked([&] { return inner_->write_page(page); });
  }

  result<void> finish_run(const run_record& run) override {
    return locked([&] { return inner_->finish_run(run); });
  }

  result<std::vector<run_record>> recent_runs(const std::optional<std::string>& feed,
                                              int limit) override {
    return locked([&] { return inner_->recent_runs(feed, limit); });
  }

  result<std::optional<timestamp>> newest_published_at() override {
    return locked([&] { return inner_->newest_published_at(); });
  }

  result<std::optional<cached_token>> read_token(const std::string& name,
                                                 timestamp now) override {
    return locked([&] { return inner_->read_token(name, now); });
  }

  result<void> write_token(const cached_token& token) override {
    return locked([&] { return inner_->write_token(token); });
  }

  result<std::vector<stored_posting>> read_postings(
      int limit, const std::optional<std::string>& feed) override {
    return locked([&] { return inner_->read_postings(limit, feed); });
  }

  result<std::int64_t> prune(const std::string& feed, timestamp older_than) override {
    return locked([&] { return inner_->prune(feed, older_than); });
  }

 private:
  template <class Call>
  std::invoke_result_t<Call> locked(Call call) {
    std::lock_guard lock(mutex_);
    return call();
  }

  std::mutex mutex_;
  std::unique_ptr<job_store> inner_;
};

}  // namespace

std::unique_ptr<job_store> make_synchronized(std::unique_ptr<job_store> store) {
  return std::make_unique<synchronized_store>(std::move(store));
}

}  // namespace job_fetcher::store
