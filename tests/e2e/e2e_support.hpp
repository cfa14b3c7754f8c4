// Shared set-up of the end-to-end tests: upwork-sim on loopback, job-fetcher settings aimed at
// it, and a store to inspect.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "run/app.hpp"
#include "run/settings.hpp"
#include "doubles/sim/sim_process.hpp"
#include "store/store.hpp"

namespace job_fetcher::e2e {

// A temporary folder removed at the end of the test.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Settings for a run against `sim` into `store_url`, with pacing that keeps tests fast: no rate
// limit worth the name and millisecond backoffs.
run::settings sim_settings(const doubles::sim_process& sim, const std::string& store_url);

// Runs the feed once in this process.
run::run_summary run_once(const run::settings& values, run::run_overrides overrides = {});

// Result of running the job-fetcher binary.
struct process_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The job-fetcher binary started in the background with stdout and stderr captured in files.
// The child gets the test's environment without any job-fetcher setting, plus `env`
// ("NAME=value"). The destructor kills the process if it still runs.
class fetcher_process {
 public:
  fetcher_process(const std::vector<std::string>& args, const std::vector<std::string>& env);
  ~fetcher_process();
  fetcher_process(const fetcher_process&) = delete;
  fetcher_process& operator=(const fetcher_process&) = delete;

  // Waits up to `timeout` for the process to exit. Returns its exit code, or nullopt while it
  // still runs. A process killed by a signal returns 128 + the signal number.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  void signal(int number) const;

  std::string out() const;
  std::string err() const;

 private:
  std::filesystem::path out_path() const { return outputs_.path() / "stdout"; }
  std::filesystem::path err_path() const { return outputs_.path() / "stderr"; }

  temp_dir outputs_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// Runs the built job-fetcher binary with `args` and extra environment `env` ("NAME=value").
process_result run_binary(const std::vector<std::string>& args, const std::vector<std::string>& env);

// Opens the store at `url` (or the one `settings` describe) for inspection.
std::unique_ptr<store::job_store> open_for_inspection(const std::string& url);
std::unique_ptr<store::job_store> open_for_inspection(const store::store_settings& settings);

}  // namespace job_fetcher::e2e

namespace job_fetcher::e2e {

// Lists the fields in which two postings differ, "" when they are equal.
std::string posting_differences(const upwork::posting& actual, const upwork::posting& expected);

}  // namespace job_fetcher::e2e

namespace job_fetcher::e2e {

// Where an end-to-end test stores postings: "sqlite", "postgres" (a fresh schema on the test
// cluster) or "postgrest" (the PostgREST double over a fresh schema).
class store_target {
 public:
  explicit store_target(std::string backend);
  ~store_target();

  // Non-empty when the backend cannot run here (no test PostgreSQL); tests skip with it.
  const std::string& unavailable_reason() const { return unavailable_; }
  const std::string& backend() const { return backend_; }

  // Points the settings' store at this target.
  void apply(run::settings& values) const;
  // Opens a second store on the same data, for assertions.
  std::unique_ptr<store::job_store> inspect() const;

 private:
  std::string backend_;
  std::string unavailable_;
  temp_dir dir_;
  std::string conninfo_;
  std::shared_ptr<void> server_;  // the PostgREST double, kept alive for the test
  std::string postgrest_url_;
};

// The store backends every end-to-end behaviour runs on.
std::vector<std::string> e2e_store_backends();

}  // namespace job_fetcher::e2e
