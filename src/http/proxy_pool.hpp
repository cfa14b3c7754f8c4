// Outbound proxies for Upwork requests: a list read once per run from a URL (PROXY_URL), a file
// (JOB_FETCHER_PROXY_FILE) or one static proxy URL (HTTPS_PROXY), handed out round-robin so each
// retry goes out through a different proxy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "http/client.hpp"

namespace job_fetcher::http {

// One proxy. The URL carries the credentials and goes to libcurl only; `label` is safe to log.
struct proxy_endpoint {
  secret url;         // "http://user:pass@ip:port" or "http://ip:port"
  std::string label;  // "ip:port", never the credentials
};

// Parses a proxy list: one `ip:port:user:password` or `ip:port` a line. Blank lines and lines
// starting with '#' are skipped, CR line ends are accepted. Returns a config error naming
// `source` and the line number for an invalid line (the line itself is not echoed, because it
// may hold a password), and for a list without any proxy.
result<std::vector<proxy_endpoint>> parse_proxy_list(std::string_view text,
                                                     std::string_view source);

// Makes an endpoint from a proxy URL such as "http://user:pass@host:port".
proxy_endpoint static_proxy(std::string url);

// Hands out proxies round-robin from a random start. An empty pool hands out no proxy (direct
// connections). Not thread-safe: one pool serves one run at a time.
class proxy_pool {
 public:
  proxy_pool() = default;
  proxy_pool(std::vector<proxy_endpoint> proxies, std::uint64_t seed);

  bool empty() const { return proxies_.empty(); }
  std::size_t size() const { return proxies_.size(); }

  // Returns the next proxy, or nullptr when the pool is empty. Consecutive calls return
  // different proxies while the pool has more than one.
  const proxy_endpoint* next();

 private:
  std::vector<proxy_endpoint> proxies_;
  std::size_t position_ = 0;
};

// Sources of proxies. The first non-empty one is used, in the order below.
struct proxy_sources {
  std::string list_url;   // PROXY_URL: fetched with one GET
  std::string list_file;  // JOB_FETCHER_PROXY_FILE
  std::string static_url; // HTTPS_PROXY
};

// Builds the pool from `sources`; no source configured gives an empty pool. The list URL is
// fetched directly (never through a proxy) with `client`. Errors: the class of the failed
// request (the URL redacted), `blocked` for a non-200 status, `config` for an unreadable file or
// an invalid list.
result<proxy_pool> load_proxy_pool(const proxy_sources& sources, client& client,
                                   std::uint64_t seed);

// Wraps `inner` so that requests whose URL starts with one of `url_prefixes` and carry no proxy
// yet get the pool's next proxy; on HTTP 407 or a blocked transfer the request is sent again
// through the next proxy, each proxy at most once; when every proxy returned 407 the result is
// a blocked error. Used for the token requests to Upwork (home
// page, OAuth2), which have no retry of their own, so that requests to the authenticator or AWS
// stay direct. `inner` and `pool` must outlive the returned client.
std::unique_ptr<client> make_proxying_client(client& inner, proxy_pool& pool,
                                             std::vector<std::string> url_prefixes);

}  // namespace job_fetcher::http
