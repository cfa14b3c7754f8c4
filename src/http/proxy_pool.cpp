#include "http/proxy_pool.hpp"

#include <charconv>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "core/log.hpp"

namespace job_fetcher::http {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

bool valid_port(std::string_view text) {
  int port = 0;
  auto [end, code] = std::from_chars(text.data(), text.data() + text.size(), port);
  return code == std::errc{} && end == text.data() + text.size() && port > 0 && port <= 65535;
}

// Parses "ip:port" or "ip:port:user:password". The password is the rest of the line, so it may
// contain ':'.
std::optional<proxy_endpoint> parse_proxy_line(std::string_view line) {
  auto first = line.find(':');
  if (first == std::string_view::npos || first == 0) return std::nullopt;
  std::string_view host = line.substr(0, first);
  auto second = line.find(':', first + 1);
  std::string_view port = line.substr(first + 1, second == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : second - first - 1);
  if (!valid_port(port)) return std::nullopt;

  std::string label = fmt::format("{}:{}", host, port);
  if (second == std::string_view::npos) return proxy_endpoint{secret("http://" + label), label};

  auto third = line.find(':', second + 1);
  if (third == std::string_view::npos) return std::nullopt;
  std::string_view user = line.substr(second + 1, third - second - 1);
  std::string_view password = line.substr(third + 1);
  if (user.empty()) return std::nullopt;
  std::string url =
      fmt::format("http://{}:{}@{}", url_encode(user), url_encode(password), label);
  return proxy_endpoint{secret(std::move(url)), std::move(label)};
}

result<std::string> read_list_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(error_class::config,
                      fmt::format("JOB_FETCHER_PROXY_FILE: cannot read the proxy list {}", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

result<std::string> fetch_list(const std::string& url, client& http) {
  request req;
  req.url = url;
  auto res = http.send(req);
  if (!res) return std::move(res).err();
  if (res->status != 200) {
    error failure = make_error(
        error_class::blocked,
        fmt::format("PROXY_URL: the proxy list request returned HTTP {}", res->status));
    failure.http_status = res->status;
    failure.url = redact_url(url);
    return failure;
  }
  return std::move(res->body);
}

class proxying_client final : public client {
 public:
  proxying_client(client& inner, proxy_pool& pool, std::vector<std::string> url_prefixes)
      : inner_(inner), pool_(pool), url_prefixes_(std::move(url_prefixes)) {}

  // A proxy failure (HTTP 407 or a blocked transfer) moves on to the next proxy, at most once
  // per proxy in the pool, because the token requests this wraps have no retry of their own.
  result<response> send(const request& req) override {
    if (!req.proxy.empty() || !matches(req.url) || pool_.empty()) return inner_.send(req);
    request proxied = req;
    for (std::size_t tried = 1;; ++tried) {
      const proxy_endpoint* proxy = pool_.next();
      proxied.proxy = proxy->url.reveal();
      auto outcome = inner_.send(proxied);
      bool proxy_failed = outcome ? outcome->status == 407
                                  : outcome.err().kind == error_class::blocked;
      if (!proxy_failed) return outcome;
      if (tried >= pool_.size()) {
        if (!outcome) return outcome;
        // The status is the proxy's, not the target's: report it as the proxy failure it is.
        error failure = make_error(
            error_class::blocked,
            fmt::format("every proxy rejected the request (HTTP 407), the last one {}; check "
                        "the proxy credentials",
                        proxy->label));
        failure.http_status = 407;
        failure.url = redact_url(req.url);
        return failure;
      }
      log::warn("http", "proxy failed, trying the next one",
                {{"proxy", proxy->label},
                 {"status", outcome ? outcome->status : outcome.err().http_status}});
    }
  }

 private:
  bool matches(const std::string& url) const {
    for (const auto& prefix : url_prefixes_) {
      if (!prefix.empty() && url.starts_with(prefix)) return true;
    }
    return false;
  }

  client& inner_;
  proxy_pool& pool_;
  std::vector<std::string> url_prefixes_;
};

}  // namespace

result<std::vector<proxy_endpoint>> parse_proxy_list(std::string_view text,
                                                     std::string_view source) {
  std::vector<proxy_endpoint> proxies;
  std::size_t line_number = 0;
  while (!text.empty()) {
    auto end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;

    auto proxy = parse_proxy_line(line);
    if (!proxy) {
      return make_error(error_class::config,
                        fmt::format("{}: line {} of the proxy list is not ip:port or "
                                    "ip:port:user:password",
                                    source, line_number));
    }
    proxies.push_back(std::move(*proxy));
  }
  if (proxies.empty()) {
    return make_error(error_class::config,
                      fmt::format("{}: the proxy list holds no proxy", source));
  }
  return proxies;
}

proxy_endpoint static_proxy(std::string url) {
  std::string label = redact_url(url);
  return proxy_endpoint{secret(std::move(url)), std::move(label)};
}

proxy_pool::proxy_pool(std::vector<proxy_endpoint> proxies, std::uint64_t seed)
    : proxies_(std::move(proxies)) {
  if (proxies_.empty()) return;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> start(0, proxies_.size() - 1);
  position_ = start(rng);
}

const proxy_endpoint* proxy_pool::next() {
  if (proxies_.empty()) return nullptr;
  const proxy_endpoint* chosen = &proxies_[position_];
  position_ = (position_ + 1) % proxies_.size();
  return chosen;
}

result<proxy_pool> load_proxy_pool(const proxy_sources& sources, client& client,
                                   std::uint64_t seed) {
  if (!sources.list_url.empty()) {
    auto text = fetch_list(sources.list_url, client);
    if (!text) return std::move(text).err();
    auto proxies = parse_proxy_list(*text, "PROXY_URL");
    if (!proxies) return std::move(proxies).err();
    return proxy_pool(std::move(proxies).value(), seed);
  }
  if (!sources.list_file.empty()) {
    auto text = read_list_file(sources.list_file);
    if (!text) return std::move(text).err();
    auto proxies = parse_proxy_list(*text, "JOB_FETCHER_PROXY_FILE");
    if (!proxies) return std::move(proxies).err();
    return proxy_pool(std::move(proxies).value(), seed);
  }
  if (!sources.static_url.empty()) {
    return proxy_pool({static_proxy(sources.static_url)}, seed);
  }
  return proxy_pool();
}

std::unique_ptr<client> make_proxying_client(client& inner, proxy_pool& pool,
                                             std::vector<std::string> url_prefixes) {
  return std::make_unique<proxying_client>(inner, pool, std::move(url_prefixes));
}

}  // namespace job_fetcher::http
