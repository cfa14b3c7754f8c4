// open_store(): picks the store implementation from the settings. Every rejection happens here,
// before any connection is made.
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "store/factories.hpp"
#include "store/store.hpp"

namespace job_fetcher::store {

namespace {

constexpr std::string_view embedded_default_url = "sqlite:./job-fetcher.db";

constexpr std::string_view valid_forms =
    "sqlite:PATH (for example sqlite:./job-fetcher.db or sqlite:/var/lib/job-fetcher.db), "
    "postgres://USER@HOST:PORT/DATABASE or postgresql://…, or an empty store URL with a "
    "PostgREST URL";

error config_error_of(std::string message) {
  return make_error(error_class::config, std::move(message));
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// The scheme of a URL ("postgres" of "postgres://…"), or nothing for a bare path.
std::optional<std::string_view> scheme_of(std::string_view url) {
  auto colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view scheme = url.substr(0, colon);
  bool plain = scheme.find_first_not_of(
                   "abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") == std::string_view::npos;
  // A one-letter "scheme" is a Windows drive letter, and "./x:y" is a path.
  if (!plain || scheme.size() == 1) return std::nullopt;
  return scheme;
}

result<std::unique_ptr<job_store>> open_sqlite(std::string_view url, bool create) {
  std::string_view path = url.substr(std::string_view("sqlite:").size());
  // "sqlite://x" is rejected because URL styles disagree on whether "sqlite:///x" is relative.
  if (starts_with(path, "//")) {
    return config_error_of(
        fmt::format("invalid store URL '{}': write sqlite:PATH without '//', for example "
                    "sqlite:./job-fetcher.db or sqlite:/var/lib/job-fetcher.db",
                    url));
  }
  if (path.empty()) {
    return config_error_of(
        "invalid store URL 'sqlite:': the path is missing; write sqlite:PATH, for example "
        "sqlite:./job-fetcher.db");
  }
  // An in-memory database would report postings stored that vanish when the process ends.
  if (path == ":memory:" || starts_with(path, "file:")) {
    return config_error_of(fmt::format(
        "invalid store URL '{}': the store must be a database file; write sqlite:PATH, for "
        "example sqlite:./job-fetcher.db",
        url));
  }
  std::error_code ignored;
  if (!create && !std::filesystem::exists(std::filesystem::path(path), ignored)) {
    return config_error_of(
        fmt::format("SQLite database {} does not exist; check the store URL (JOB_FETCHER_STORE or "
                    "--store), or create it with job-fetcher run or job-fetcher migrate",
                    path));
  }
  return make_sqlite_store(std::string(path), !create);
}

// Returns the password part of postgres://USER:PASSWORD@HOST/…, as written (still encoded).
std::string_view password_of(std::string_view url) {
  auto start = url.find("://");
  if (start == std::string_view::npos) return {};
  url.remove_prefix(start + 3);
  auto at = url.rfind('@', url.find('/'));
  if (at == std::string_view::npos) return {};
  auto userinfo = url.substr(0, at);
  auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return {};
  return userinfo.substr(colon + 1);
}

// Checks the URL's syntax with libpq before connecting, so that a malformed URL is a
// configuration error. The password is masked in libpq's message.
std::optional<error> check_postgres_url(const std::string& url) {
  // libpq ends the user name and password at the first '/' or '@', so an unencoded one in the
  // password turns the rest into host, port or database names, which then appear in messages
  // and DNS lookups. The text up to the last '@' is the user name and password.
  std::string_view rest = url;
  rest.remove_prefix(std::min(rest.size(), rest.find("://") + 3));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto userinfo = rest.substr(0, at);
    for (auto [c, encoded] : {std::pair{'@', "%40"}, std::pair{'/', "%2F"}, std::pair{'?', "%3F"},
                              std::pair{'#', "%23"}}) {
      if (userinfo.find(c) != std::string_view::npos) {
        return config_error_of(fmt::format(
            "invalid PostgreSQL store URL: the user name or password contains '{}'; write it "
            "percent-encoded as {}",
            c, encoded));
      }
    }
  }

  char* message = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &message);
  if (options != nullptr) {
    // libpq checks port numbers only when it connects. A URL may list several hosts and ports.
    std::optional<error> bad_port;
    for (auto* option = options; option->keyword != nullptr && !bad_port; ++option) {
      if (std::string_view(option->keyword) != "port" || option->val == nullptr) continue;
      std::string_view ports = option->val;
      while (!bad_port) {
        auto comma = ports.find(',');
        auto port = ports.substr(0, comma);
        int number = 0;
        auto [end, failure] = std::from_chars(port.data(), port.data() + port.size(), number);
        if (!port.empty() &&
            (failure != std::errc{} || end != port.data() + port.size() || number < 1 ||
             number > 65535)) {
          bad_port = config_error_of(fmt::format(
              "invalid PostgreSQL store URL: port '{}' is not a number from 1 to 65535", port));
        }
        if (comma == std::string_view::npos) break;
        ports.remove_prefix(comma + 1);
      }
    }
    PQconninfoFree(options);
    return bad_port;
  }
  std::string reason = message != nullptr ? message : "out of memory";
  PQfreemem(message);
  // libpq quotes the URL or the token it failed on, which may be the password.
  if (auto password = password_of(url); !password.empty()) {
    for (auto at = reason.find(password); at != std::string::npos; at = reason.find(password)) {
      reason.replace(at, password.size(), "***");
    }
  }
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
  return config_error_of(fmt::format(
      "invalid PostgreSQL store URL: {}; write postgres://USER[:PASSWORD]@HOST:PORT/DATABASE",
      reason));
}

// Opens the store the settings name, for use by one thread at a time.
result<std::unique_ptr<job_store>> open_unshared(const store_settings& settings) {
  std::string_view url = settings.url;
  bool url_is_default = url.empty() || url == embedded_default_url;

  // The default URL counts as unset, so setting only the PostgREST URL selects PostgREST.
  if (!settings.postgrest_url.empty()) {
    if (!url_is_default) {
      return config_error_of("both a store URL and a PostgREST URL are set; set only one of them");
    }
    return make_postgrest_store(settings);
  }
  if (url.empty()) url = embedded_default_url;

  auto scheme = scheme_of(url);
  if (!scheme) {
    return config_error_of(fmt::format(
        "invalid store URL '{}': it has no scheme; for a SQLite file write sqlite:{}", url, url));
  }
  if (*scheme == "sqlite") return open_sqlite(url, !settings.read_only);
  if (*scheme == "postgres" || *scheme == "postgresql") {
    if (auto invalid = check_postgres_url(settings.url)) return *invalid;
    return make_postgres_store(settings.url);
  }
  // Only the scheme is echoed: the rest of an unknown URL may hold a password.
  return config_error_of(
      fmt::format("unsupported store URL scheme '{}'; valid forms: {}", *scheme, valid_forms));
}

}  // namespace

result<std::unique_ptr<job_store>> open_store(const store_settings& settings) {
  auto opened = open_unshared(settings);
  if (!opened) return opened;
  return make_synchronized(std::move(opened).value());
}

}  // namespace job_fetcher::store
