#include "doubles/sim/sim_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include <httplib.h>

extern char** environ;

namespace job_fetcher::doubles {
namespace {

constexpr auto startup_timeout = std::chrono::seconds{20};
constexpr std::string_view listening_prefix = "listening http://127.0.0.1:";

std::string binary_path() {
  return std::string(JOB_FETCHER_BINARY_DIR) + "/tools/upwork_sim/upwork-sim";
}

// Reads one line from `fd`, waiting at most `timeout` in total.
std::string read_line(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string line;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      throw std::runtime_error("upwork-sim printed no listening line in time");
    }
    pollfd ready{fd, POLLIN, 0};
    if (poll(&ready, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    char c = 0;
    const ssize_t got = read(fd, &c, 1);
    if (got <= 0) {
      throw std::runtime_error("upwork-sim exited before listening (see its stderr)");
    }
    if (c == '\n') {
      return line;
    }
    line.push_back(c);
  }
}

}  // namespace

std::string sim_process::default_data_file() {
  return std::string(JOB_FETCHER_DATA_DIR) + "/upwork/postings.jsonl";
}

sim_process::sim_process(std::vector<std::string> args, std::string data_file) {
  std::vector<std::string> argv_storage{binary_path(), "--data", std::move(data_file),
                                        "--port", "0", "--exit-with-parent"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    pid_ = -1;
    throw std::runtime_error("cannot start " + argv_storage[0] + ": error " +
                             std::to_string(spawned));
  }

  try {
    const std::string line = read_line(pipe_fds[0], startup_timeout);
    if (line.rfind(listening_prefix, 0) != 0) {
      throw std::runtime_error("unexpected first line from upwork-sim: " + line);
    }
    port_ = std::stoi(line.substr(listening_prefix.size()));
    base_url_ = line.substr(std::string_view("listening ").size());
  } catch (...) {
    close(pipe_fds[0]);
    stop();
    throw;
  }
  // The simulator writes nothing else to stdout and ignores SIGPIPE, so the pipe can close.
  close(pipe_fds[0]);
}

sim_process::~sim_process() {
  stop();
}

void sim_process::stop() {
  if (pid_ <= 0) {
    return;
  }
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  pid_ = -1;
}

nlohmann::json sim_process::control(const std::string& method, const std::string& path,
                                    const nlohmann::json& body) {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(std::chrono::seconds{5});
  client.set_read_timeout(std::chrono::seconds{30});
  httplib::Result result = method == "GET"
                               ? client.Get(path)
                               : client.Post(path, body.is_null() ? std::string() : body.dump(),
                                             "application/json");
  if (!result) {
    throw std::runtime_error(method + " " + path + " failed: " + httplib::to_string(result.error()));
  }
  if (result->status == 404 && path.rfind("/__sim/posting/", 0) == 0) {
    return nullptr;
  }
  if (result->status != 200) {
    throw std::runtime_error(method + " " + path + " returned HTTP " +
                             std::to_string(result->status) + ": " + result->body);
  }
  return nlohmann::json::parse(result->body);
}

std::size_t sim_process::publish(std::size_t n) {
  return control("POST", "/__sim/publish", {{"count", n}}).at("published").get<std::size_t>();
}

std::size_t sim_process::renew(std::size_t n) {
  return control("POST", "/__sim/renew", {{"count", n}}).at("renewed").get<std::size_t>();
}

std::size_t sim_process::remove(std::size_t n) {
  return control("POST", "/__sim/delete", {{"count", n}}).at("deleted").get<std::size_t>();
}

void sim_process::expire_tokens() {
  control("POST", "/__sim/expire-tokens");
}

void sim_process::set_faults(const nlohmann::json& faults) {
  control("POST", "/__sim/faults",
          faults.is_array() ? nlohmann::json{{"faults", faults}} : faults);
}

sim_stats sim_process::stats() {
  const auto body = control("GET", "/__sim/stats");
  const auto& requests = body.at("requests");
  sim_stats stats;
  stats.home_requests = requests.at("home").get<std::uint64_t>();
  stats.visitor_requests = requests.at("visitor").get<std::uint64_t>();
  stats.marketplace_requests = requests.at("marketplace").get<std::uint64_t>();
  stats.token_requests = requests.at("token").get<std::uint64_t>();
  stats.published = body.at("published").get<std::size_t>();
  stats.pool = body.at("pool").get<std::size_t>();
  return stats;
}

void sim_process::reset_stats() {
  control("POST", "/__sim/reset-stats");
}

std::vector<std::string> sim_process::published_ids() {
  return control("GET", "/__sim/published").get<std::vector<std::string>>();
}

nlohmann::json sim_process::posting(const std::string& id) {
  return control("GET", "/__sim/posting/" + id);
}

std::string sim_process::visitor_token() {
  httplib::Client client("127.0.0.1", port_);
  auto result = client.Get("/");
  if (!result || result->status != 200) {
    throw std::runtime_error("GET / on upwork-sim failed");
  }
  constexpr std::string_view cookie_name = "visitor_gql_token=";
  const auto count = result->get_header_value_count("Set-Cookie");
  for (std::size_t i = 0; i < count; ++i) {
    const std::string cookie = result->get_header_value("Set-Cookie", i);
    if (cookie.rfind(cookie_name, 0) == 0) {
      const auto end = cookie.find(';');
      return cookie.substr(cookie_name.size(), end == std::string::npos
                                                   ? std::string::npos
                                                   : end - cookie_name.size());
    }
  }
  throw std::runtime_error("GET / on upwork-sim set no visitor_gql_token cookie");
}

}  // namespace job_fetcher::doubles
