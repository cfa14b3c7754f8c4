// Writes pages to the store on its own thread, so the upsert of page k overlaps the fetch of
// page k+1. The store instance is used only by this thread between start and finish.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "core/error.hpp"
#include "store/store.hpp"

namespace job_fetcher::run {

class page_writer {
 public:
  // Starts the writer thread. At most `capacity` pages wait in the queue; push blocks beyond.
  page_writer(store::job_store& store, std::size_t capacity);
  page_writer(const page_writer&) = delete;
  page_writer& operator=(const page_writer&) = delete;
  ~page_writer();

  // Queues a page. Returns false when an earlier write failed (see finish for the error); the
  // page is then dropped, and the caller stops fetching.
  bool push(store::page_write page);

  // Writes what is queued, stops the thread and returns the first failure, if any.
  result<void> finish();

  // Totals over the pages written so far.
  store::upsert_counts totals() const;

 private:
  void run();

  store::job_store& store_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<store::page_write> queue_;
  bool closed_ = false;
  std::optional<error> failure_;
  store::upsert_counts totals_;
  std::thread thread_;
};

}  // namespace job_fetcher::run
