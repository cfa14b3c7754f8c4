// open_store(): picks the store implementation from the settings. Every rejection happens here,
// before any connection is made.
#include <fmt/format.h>

#include <string_view>

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

result<std::unique_ptr<job_store>> open_sqlite(std::string_view url) {
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
  return make_sqlite_store(std::string(path));
}

}  // namespace

result<std::unique_ptr<job_store>> open_store(const store_settings& settings) {
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
  if (*scheme == "sqlite") return open_sqlite(url);
  if (*scheme == "postgres" || *scheme == "postgresql") {
    return make_postgres_store(settings.url);
  }
  // Only the scheme is echoed: the rest of an unknown URL may hold a password.
  return config_error_of(
      fmt::format("unsupported store URL scheme '{}'; valid forms: {}", *scheme, valid_forms));
}

}  // namespace job_fetcher::store
