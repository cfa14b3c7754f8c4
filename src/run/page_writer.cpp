#include "run/page_writer.hpp"

#include "core/log.hpp"

namespace job_fetcher::run {

page_writer::page_writer(store::job_store& store, std::size_t capacity)
    : store_(store), capacity_(capacity == 0 ? 1 : capacity), thread_([this] { run(); }) {}

page_writer::~page_writer() { (void)finish(); }

bool page_writer::push(store::page_write page) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return queue_.size() < capacity_ || failure_ || closed_; });
  if (failure_ || closed_) return false;
  queue_.push_back(std::move(page));
  changed_.notify_all();
  return true;
}

result<void> page_writer::finish() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  if (failure_) return *failure_;
  return {};
}

store::upsert_counts page_writer::totals() const {
  std::lock_guard lock(mutex_);
  return totals_;
}

void page_writer::run() {
  for (;;) {
    store::page_write page;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return !queue_.empty() || closed_; });
      if (queue_.empty()) return;
      page = std::move(queue_.front());
      queue_.pop_front();
    }
    changed_.notify_all();

    auto counts = store_.write_page(page);

    std::lock_guard lock(mutex_);
    if (!counts) {
      log::error("store", "page write failed, the watermark stays",
                 {{"error", counts.err().describe()}, {"postings", page.postings.size()}});
      failure_ = counts.err();
      queue_.clear();
      changed_.notify_all();
      return;
    }
    totals_.inserted += counts->inserted;
    totals_.updated += counts->updated;
    totals_.unchanged += counts->unchanged;
  }
}

}  // namespace job_fetcher::run
