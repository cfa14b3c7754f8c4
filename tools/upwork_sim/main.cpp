// upwork-sim: serves real postings in Upwork's API shapes on 127.0.0.1 for tests and benchmarks.
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "catalog.hpp"
#include "server.hpp"
#include "stream.hpp"
#include "tokens.hpp"

namespace {

using namespace job_fetcher::upwork_sim;

// Postings kept back for POST /__sim/publish when --published is not given.
constexpr std::size_t default_pool_size = 300;

struct cli_options {
  std::string data_file;
  int port = 0;
  std::optional<std::size_t> published;
  std::uint64_t seed = 1;
  std::string latency;
  long token_ttl_seconds = 3600;
  std::vector<std::string> oauth_clients;
  std::vector<std::string> refresh_tokens;
  std::string refresh_rotation_name = "rotate";
  bool expires_in_as_string = false;
  bool exit_with_parent = false;
  bool stream_day = false;
  double speed = 288.0;
  std::size_t day_postings = 6000;
  double fault_rate = 0.0;
};

// Parses "MIN" or "MIN:MAX" (milliseconds). Throws CLI::ValidationError.
std::pair<std::chrono::milliseconds, std::chrono::milliseconds> parse_latency(
    const std::string& text) {
  if (text.empty()) {
    return {};
  }
  try {
    const auto colon = text.find(':');
    const long min = std::stol(text.substr(0, colon));
    const long max = colon == std::string::npos ? min : std::stol(text.substr(colon + 1));
    if (min < 0 || max < min) {
      throw std::invalid_argument("range");
    }
    return {std::chrono::milliseconds{min}, std::chrono::milliseconds{max}};
  } catch (const std::exception&) {
    throw CLI::ValidationError("--latency-ms", "expected MIN or MIN:MAX in milliseconds, with "
                                               "0 <= MIN <= MAX, got \"" + text + "\"");
  }
}

// Registers "ID:SECRET" or "ID:SECRET:noscope"; with no --oauth-client, registers the
// defaults sim-client:sim-secret and noscope:noscope-secret:noscope.
void register_clients(token_registry& tokens, std::vector<std::string> specs) {
  if (specs.empty()) {
    specs = {"sim-client:sim-secret", "noscope:noscope-secret:noscope"};
  }
  for (const auto& spec : specs) {
    const auto first = spec.find(':');
    if (first == std::string::npos || first == 0) {
      throw CLI::ValidationError("--oauth-client", "expected ID:SECRET[:noscope], got \"" +
                                                       spec + "\"");
    }
    const auto second = spec.find(':', first + 1);
    oauth_client client;
    client.secret = spec.substr(first + 1, second == std::string::npos ? std::string::npos
                                                                       : second - first - 1);
    if (second != std::string::npos) {
      if (spec.substr(second + 1) != "noscope") {
        throw CLI::ValidationError("--oauth-client", "the third part may only be \"noscope\"");
      }
      client.job_postings_scope = false;
    }
    tokens.add_client(spec.substr(0, first), client);
  }
}

refresh_rotation parse_rotation(const std::string& name) {
  if (name == "same") return refresh_rotation::same;
  if (name == "omit") return refresh_rotation::omit;
  return refresh_rotation::rotate;
}

void add_options(CLI::App& app, cli_options& options) {
  app.add_option("--data", options.data_file, "JSON Lines file of postings, newest first")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--port", options.port, "TCP port on 127.0.0.1; 0 picks a free port")
      ->check(CLI::Range(0, 65535));
  app.add_option("--published", options.published,
                 "postings published at start (default: all but 300; the rest form the pool)");
  app.add_option("--seed", options.seed, "seed for publish times, renew/delete picks and latency");
  app.add_option("--latency-ms", options.latency,
                 "delay of each API response in milliseconds, MIN or MIN:MAX (uniform)");
  app.add_option("--token-ttl", options.token_ttl_seconds,
                 "lifetime in seconds of every issued token")
      ->check(CLI::PositiveNumber);
  app.add_option("--oauth-client", options.oauth_clients,
                 "OAuth2 client ID:SECRET, or ID:SECRET:noscope for a key without the job "
                 "postings scope (repeatable; default sim-client:sim-secret and "
                 "noscope:noscope-secret:noscope)");
  app.add_option("--refresh-token", options.refresh_tokens,
                 "refresh token that any client may redeem once (repeatable)");
  app.add_option("--refresh-rotation", options.refresh_rotation_name,
                 "what a refresh returns: rotate (new token, old one invalid), same, or omit")
      ->check(CLI::IsMember({"rotate", "same", "omit"}));
  app.add_flag("--expires-in-string", options.expires_in_as_string,
               "send expires_in as a JSON string instead of a number");
  app.add_flag("--exit-with-parent", options.exit_with_parent,
               "exit when the parent process exits (for test harnesses)");
  app.add_flag("--stream-day", options.stream_day,
               "play a simulated day: new postings with bursts and late publishing, renewals "
               "and deletions, on a clock running --speed times faster than real time");
  app.add_option("--speed", options.speed,
                 "simulated seconds per real second in --stream-day mode (288: a day in 5 "
                 "minutes)")
      ->check(CLI::Range(1.0, 100000.0));
  app.add_option("--day-postings", options.day_postings,
                 "new postings published over the simulated day in --stream-day mode")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000}));
  app.add_option("--fault-rate", options.fault_rate,
                 "share of API requests that fail with a random fault (5xx, 429, reset, "
                 "truncated body, slow response, token expiry), 0 to 1")
      ->check(CLI::Range(0.0, 1.0));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"upwork-sim: a local stand-in for Upwork's job search APIs"};
  cli_options options;
  add_options(app, options);
  CLI11_PARSE(app, argc, argv);

  if (options.exit_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) {
      return 1;
    }
  }
  // A client that hangs up mid-response must not kill the server.
  std::signal(SIGPIPE, SIG_IGN);

  try {
    const auto latency = parse_latency(options.latency);
    auto postings = load_postings(options.data_file);
    const std::size_t published = options.published.value_or(
        postings.size() > default_pool_size ? postings.size() - default_pool_size : 0);
    const auto now =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());

    catalog jobs(std::move(postings), published, options.seed, now);
    sim_clock clock(now, options.stream_day ? options.speed : 1.0);
    std::optional<day_stream> stream;
    if (options.stream_day) {
      day_options day;
      day.day_postings = options.day_postings;
      day.renewals = options.day_postings / 20;
      day.deletions = options.day_postings / 40;
      day.seed = options.seed;
      stream.emplace(jobs, clock, day);
    }
    random_faults faults(options.fault_rate, options.seed);
    token_registry tokens(std::chrono::seconds{options.token_ttl_seconds}, options.seed + 1,
                          parse_rotation(options.refresh_rotation_name),
                          options.expires_in_as_string);
    register_clients(tokens, options.oauth_clients);
    for (const auto& token : options.refresh_tokens) {
      tokens.add_refresh_token(token);
    }

    httplib::Server server;
    // Without it each response body waits for the client's delayed ACK, which adds up to 40 ms
    // per request and would distort latency benchmarks.
    server.set_tcp_nodelay(true);
    const int port = options.port == 0 ? server.bind_to_any_port("127.0.0.1")
                                       : (server.bind_to_port("127.0.0.1", options.port)
                                              ? options.port
                                              : -1);
    if (port < 0) {
      std::cerr << "upwork-sim: cannot bind 127.0.0.1:" << options.port << "\n";
      return 1;
    }
    simulator_options sim_options;
    sim_options.latency_min = latency.first;
    sim_options.latency_max = latency.second;
    sim_options.seed = options.seed;
    sim_options.random = &faults;
    if (stream) {
      sim_options.clock = [&clock] { return clock.now(); };
      sim_options.stream = &*stream;
    }
    simulator sim(jobs, tokens, sim_options);
    sim.install(server, port);
    if (stream) {
      stream->start();
    }

    // Test harnesses read this line to find the port, so it goes out before serving.
    std::cout << "listening http://127.0.0.1:" << port << std::endl;
    std::cerr << "upwork-sim: serving " << jobs.published_count() << " published postings, "
              << jobs.pool_count() << " in the pool, on 127.0.0.1:" << port << std::endl;
    return server.listen_after_bind() ? 0 : 1;
  } catch (const CLI::Error& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "upwork-sim: " << e.what() << "\n";
    return 1;
  }
}
