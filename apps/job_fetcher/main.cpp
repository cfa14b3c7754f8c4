// job-fetcher: parses the command line and the environment, then hands over to the library.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "run/app.hpp"
#include "run/commands.hpp"
#include "run/settings.hpp"

namespace {

using namespace job_fetcher;

// Adds every setting that has a flag to `command`; values land in `flags` by flag name.
void add_setting_flags(CLI::App& command, std::map<std::string, std::string>& flags) {
  for (const auto& spec : run::setting_specs()) {
    if (spec.flag.empty()) continue;
    std::string help = fmt::format("{} [env {}, default: {}]", spec.description, spec.env,
                                   spec.default_text.empty() ? "none" : spec.default_text);
    command
        .add_option_function<std::string>(
            "--" + spec.flag, [&flags, name = spec.flag](const std::string& value) {
              flags[name] = value;
            },
            help)
        ->type_name(spec.type == "text" || spec.type == "url" ? "TEXT" : spec.type);
  }
}

std::string settings_footer() {
  std::string text = "\nEnvironment settings (flags above override them):\n";
  for (const auto& spec : run::setting_specs()) {
    text += fmt::format("  {:<34} {} (default: {})\n", spec.env, spec.description,
                        spec.default_text.empty() ? "none" : spec.default_text);
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (run::process_env("AWS_LAMBDA_RUNTIME_API") && argc == 1) {
    return run::lambda_main();
  }

  CLI::App cli{"job-fetcher: collects Upwork job postings into SQLite or PostgreSQL"};
  cli.require_subcommand(1);
  cli.footer(settings_footer());
  std::map<std::string, std::string> flags;
  run::command_options options;

  auto* run_cmd = cli.add_subcommand("run", "run the feed once and print a summary");
  add_setting_flags(*run_cmd, flags);
  run_cmd->add_flag("--json", options.json,
                    "print each feed's summary as one JSON object, one line per feed");
  run_cmd->add_flag("--all", options.all_feeds,
                    "run every feed of the feeds file in turn; the exit code is the worst status");

  auto* daemon_cmd = cli.add_subcommand("daemon", "run the feed on a fixed schedule until SIGTERM");
  add_setting_flags(*daemon_cmd, flags);
  daemon_cmd->add_option("--every", options.every, "time between runs, such as 5m")->required();
  daemon_cmd->add_flag("--json", options.json, "print each summary as one JSON object");
  daemon_cmd->add_flag("--all", options.all_feeds,
                       "serve every feed of the feeds file, each on its own schedule");

  auto* migrate_cmd = cli.add_subcommand("migrate", "create or upgrade the database schema");
  add_setting_flags(*migrate_cmd, flags);
  migrate_cmd->add_flag("--print", options.print_sql,
                        "print the PostgreSQL schema (for a PostgREST deployment) instead");

  auto* status_cmd = cli.add_subcommand("status", "show recent runs and freshness per feed");
  add_setting_flags(*status_cmd, flags);
  status_cmd->add_flag("--json", options.json, "print one JSON object");
  status_cmd->add_option("--limit", options.limit, "runs to show")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();

  auto* show_cmd = cli.add_subcommand("show", "print the newest stored postings");
  add_setting_flags(*show_cmd, flags);
  show_cmd->add_option("--limit", options.limit, "postings to show")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  show_cmd->add_flag("--json", options.json, "print one JSON object per line");

  auto* token_cmd = cli.add_subcommand("token", "print or renew the Upwork bearer token");
  token_cmd->require_subcommand(1);
  auto* token_get = token_cmd->add_subcommand("get", "print the token the chain returns now");
  auto* token_refresh = token_cmd->add_subcommand("refresh", "mint a new token and cache it");
  for (auto* command : {token_get, token_refresh}) {
    add_setting_flags(*command, flags);
    command->add_flag("--show", options.show, "print the whole token instead of a masked form");
  }

  auto* authenticate_cmd = cli.add_subcommand(
      "authenticate", "act as the Authenticator once: read {\"secret\": ...} on stdin, mint, cache");
  add_setting_flags(*authenticate_cmd, flags);

  auto* feeds_cmd = cli.add_subcommand("feeds", "list the configured feeds and check them");
  add_setting_flags(*feeds_cmd, flags);
  feeds_cmd->add_flag("--json", options.json, "print one JSON object");

  auto* prune_cmd = cli.add_subcommand(
      "prune", "delete postings not seen within their feed's retention (all feeds, or --feed)");
  add_setting_flags(*prune_cmd, flags);
  prune_cmd->add_flag("--json", options.json, "print one JSON object per feed");

  auto* settings_cmd = cli.add_subcommand("settings", "list every setting");
  settings_cmd->add_flag("--names", options.names_only, "only environment names, one a line");
  settings_cmd->add_flag("--markdown", options.markdown, "as a Markdown table");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and succeeds; every other command-line mistake is an invalid setting.
    return cli.exit(e) == 0 ? 0 : 2;
  }

  try {
    if (settings_cmd->parsed()) return run::print_settings(options);
    auto values = run::load_settings(run::process_env, flags);
    run::configure_logging(values);
    if (run_cmd->parsed()) return run::run_command(values, options);
    if (daemon_cmd->parsed()) return run::daemon_command(values, options);
    if (migrate_cmd->parsed()) return run::migrate_command(values, options);
    if (feeds_cmd->parsed()) return run::feeds_command(values, options);
    if (prune_cmd->parsed()) return run::prune_command(values, options);
    if (status_cmd->parsed()) return run::status_command(values, options);
    if (show_cmd->parsed()) return run::show_command(values, options);
    if (token_get->parsed()) return run::token_command(values, false, options.show);
    if (token_refresh->parsed()) return run::token_command(values, true, options.show);
    if (authenticate_cmd->parsed()) {
      std::string body(std::istreambuf_iterator<char>(std::cin), {});
      return run::authenticate_command(values, body);
    }
  } catch (const config_error& e) {
    std::fprintf(stderr, "job-fetcher: %s\n", e.what());
    return 2;
  }
  return 2;
}
