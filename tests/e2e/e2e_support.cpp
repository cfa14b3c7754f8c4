#include "e2e/e2e_support.hpp"

#include <spawn.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

extern char** environ;

namespace job_fetcher::e2e {

temp_dir::temp_dir() {
  std::random_device random;
  path_ = std::filesystem::temp_directory_path() /
          ("job-fetcher-test-" + std::to_string(getpid()) + "-" + std::to_string(random()));
  std::filesystem::create_directories(path_);
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

run::settings sim_settings(const doubles::sim_process& sim, const std::string& store_url) {
  run::settings values;
  values.store.url = store_url;
  values.visitor_url = sim.base_url() + "/api/graphql/v1?alias=visitorJobSearch";
  values.home_url = sim.base_url() + "/";
  values.marketplace_url = sim.base_url() + "/graphql";
  values.token_url = sim.base_url() + "/api/v3/oauth2/token";
  values.rate_per_second = 1000;
  values.rate_burst = 100;
  values.backoff_base = std::chrono::milliseconds{5};
  values.backoff_max = std::chrono::milliseconds{50};
  values.safety_margin = std::chrono::milliseconds{200};
  values.log_level = "warn";
  return values;
}

run::run_summary run_once(const run::settings& values, run::run_overrides overrides) {
  run::app fetcher(values);
  return fetcher.run_feed(overrides);
}

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

fetcher_process::fetcher_process(const std::vector<std::string>& args,
                                 const std::vector<std::string>& env) {
  std::string binary = std::string(JOB_FETCHER_BINARY_DIR) + "/apps/job-fetcher";
  std::vector<std::string> argv_storage{binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // The child gets the test's environment without any job-fetcher setting, plus `env`.
  std::vector<std::string> env_storage;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text(*entry);
    bool setting = false;
    for (const char* prefix : {"JOB_FETCHER_", "UPWORK_", "POSTGREST_", "SUPABASE_", "AWS_",
                               "_HANDLER=", "AUTH_SECRET=", "AUTHORIZER_URL=", "AUTHENTICATOR_"}) {
      if (text.starts_with(prefix)) setting = true;
    }
    if (!setting) env_storage.push_back(text);
  }
  env_storage.insert(env_storage.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& entry : env_storage) envp.push_back(entry.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path().c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path().c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int spawned = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    pid_ = -1;
    ADD_FAILURE() << "posix_spawn failed for " << binary;
  }
}

fetcher_process::~fetcher_process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::optional<int> fetcher_process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  if (pid_ < 0) return std::nullopt;
  auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool fetcher_process::running() { return pid_ > 0 && !wait_exit(std::chrono::milliseconds(0)); }

void fetcher_process::signal(int number) const { ::kill(pid_, number); }

std::string fetcher_process::out() const { return read_file(out_path()); }

std::string fetcher_process::err() const { return read_file(err_path()); }

process_result run_binary(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  fetcher_process process(args, env);
  process_result result;
  auto code = process.wait_exit(std::chrono::hours(1));
  if (code) result.exit_code = *code;
  result.out = process.out();
  result.err = process.err();
  return result;
}

std::unique_ptr<store::job_store> open_for_inspection(const std::string& url) {
  store::store_settings settings;
  settings.url = url;
  return open_for_inspection(settings);
}

}  // namespace job_fetcher::e2e

namespace job_fetcher::e2e {

namespace {

std::string show(const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : "null"; }
std::string show(const std::string& v) { return "\"" + v.substr(0, 80) + "\""; }
std::string show(timestamp v) { return format_timestamp(v); }
std::string show(const std::optional<timestamp>& v) { return v ? format_timestamp(*v) : "null"; }
std::string show(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const auto& s : v) out += "\"" + s + "\",";
  return out + "]";
}

}  // namespace

std::string posting_differences(const upwork::posting& actual, const upwork::posting& expected) {
  std::string out;
  auto check = [&](const char* name, const auto& a, const auto& e) {
    if (!(a == e)) out += std::string(name) + ": stored " + show(a) + ", expected " + show(e) + "\n";
  };
  check("id", actual.id, expected.id);
  check("ciphertext", actual.ciphertext, expected.ciphertext);
  check("link", actual.link, expected.link);
  check("title", actual.title, expected.title);
  check("description", actual.description, expected.description);
  check("skills", actual.skills, expected.skills);
  check("job_type", actual.job_type, expected.job_type);
  check("hourly_min", actual.hourly_min, expected.hourly_min);
  check("hourly_max", actual.hourly_max, expected.hourly_max);
  check("fixed_budget", actual.fixed_budget, expected.fixed_budget);
  check("currency", actual.currency, expected.currency);
  check("contractor_tier", actual.contractor_tier, expected.contractor_tier);
  check("duration_label", actual.duration_label, expected.duration_label);
  check("workload", actual.workload, expected.workload);
  check("client_country", actual.client_country, expected.client_country);
  check("published_at", actual.published_at, expected.published_at);
  check("created_at", actual.created_at, expected.created_at);
  check("source", actual.source, expected.source);
  check("content_hash", actual.content_hash, expected.content_hash);
  return out;
}

}  // namespace job_fetcher::e2e

#include "doubles/postgrest/pg_test_database.hpp"
#include "doubles/postgrest/postgrest_double.hpp"
#include "store/factories.hpp"

namespace job_fetcher::e2e {

namespace {

constexpr const char* postgrest_test_key = "e2e-postgrest-key";

}  // namespace

store_target::store_target(std::string backend) : backend_(std::move(backend)) {
  if (backend_ == "sqlite") return;
  unavailable_ = testing::postgres_unavailable_reason();
  if (!unavailable_.empty()) return;
  conninfo_ = testing::fresh_postgres_schema();
  // The schema is created over libpq: a PostgREST deployment applies `migrate --print` the same way.
  auto db = store::make_postgres_store(conninfo_);
  if (!db || !(*db)->migrate()) throw std::runtime_error("cannot migrate the test schema");
  if (backend_ == "postgrest") {
    auto server = std::make_shared<testing::postgrest_double>(conninfo_, postgrest_test_key);
    postgrest_url_ = server->url();
    server_ = server;
  }
}

store_target::~store_target() = default;

void store_target::apply(run::settings& values) const {
  if (backend_ == "sqlite") {
    values.store.url = "sqlite:" + (dir_.path() / "jobs.db").string();
  } else if (backend_ == "postgres") {
    values.store.url = conninfo_;
  } else {
    values.store.url.clear();
    values.store.postgrest_url = postgrest_url_;
    values.store.postgrest_key = secret(postgrest_test_key);
  }
}

std::unique_ptr<store::job_store> store_target::inspect() const {
  run::settings values;
  apply(values);
  return open_for_inspection(values.store);
}

std::vector<std::string> e2e_store_backends() { return {"sqlite", "postgres", "postgrest"}; }

std::unique_ptr<store::job_store> open_for_inspection(const store::store_settings& settings) {
  auto opened = store::open_store(settings);
  EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.err().describe());
  if (!opened) return nullptr;
  EXPECT_TRUE((*opened)->migrate().ok());
  return std::move(opened).value();
}

}  // namespace job_fetcher::e2e
