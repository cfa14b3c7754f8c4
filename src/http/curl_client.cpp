#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "http/client.hpp"

namespace job_fetcher::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// curl_global_init is not thread-safe before libcurl 7.84; doing it once here keeps every caller
// independent of start-up order.
void ensure_curl_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Owns one curl_slist.
class header_list {
 public:
  header_list() = default;
  header_list(const header_list&) = delete;
  header_list& operator=(const header_list&) = delete;
  ~header_list() { curl_slist_free_all(list_); }

  void append(const std::string& line) { list_ = curl_slist_append(list_, line.c_str()); }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

// Collects one transfer's output and enforces the size limit while it arrives.
struct transfer_sink {
  response* out = nullptr;
  std::size_t max_bytes = 0;
  bool too_large = false;
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<transfer_sink*>(user);
  std::size_t bytes = size * count;
  if (sink->out->body.size() + bytes > sink->max_bytes) {
    sink->too_large = true;
    return 0;  // makes curl abort the transfer with CURLE_WRITE_ERROR
  }
  sink->out->body.append(data, bytes);
  return bytes;
}

std::size_t write_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<transfer_sink*>(user);
  std::size_t bytes = size * count;
  std::string_view line(data, bytes);
  // A new status line starts a new header block (redirects, 100 Continue, proxy CONNECT).
  if (line.starts_with("HTTP/")) {
    sink->out->headers.clear();
    return bytes;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    sink->out->headers.push_back(
        {std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
  }
  return bytes;
}

class curl_client final : public client {
 public:
  explicit curl_client(curl_options options) : options_(std::move(options)) {
    ensure_curl_initialized();
    handle_ = curl_easy_init();
  }
  curl_client(const curl_client&) = delete;
  curl_client& operator=(const curl_client&) = delete;
  ~curl_client() override { curl_easy_cleanup(handle_); }

  result<response> send(const request& req) override {
    if (handle_ == nullptr) return make_error(error_class::transient, "curl_easy_init failed");

    // Reset keeps the connection cache, so keep-alive connections survive between requests.
    curl_easy_reset(handle_);
    response out;
    transfer_sink sink{&out, options_.max_response_bytes, false};
    header_list headers;
    for (const auto& h : req.headers) headers.append(h.name + ": " + h.value);
    if (!req.body.empty() || req.method == "POST") headers.append("Expect:");
    configure(req, headers, sink);

    CURLcode code = curl_easy_perform(handle_);
    if (code != CURLE_OK) return transfer_error(req, code, sink);

    long status = 0;
    curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &status);
    out.status = static_cast<int>(status);
    return out;
  }

 private:
  void configure(const request& req, const header_list& headers, transfer_sink& sink) {
    curl_easy_setopt(handle_, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(handle_, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.method == "GET") curl_easy_setopt(handle_, CURLOPT_HTTPGET, 1L);
    if (req.method == "HEAD") curl_easy_setopt(handle_, CURLOPT_NOBODY, 1L);
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" ||
        req.method == "PATCH") {
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(req.body.size()));
    }
    curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(handle_, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl decodes
    curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
    curl_easy_setopt(handle_, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(req.connect_timeout.count()));
    curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);  // signals are unsafe with threads
    curl_easy_setopt(handle_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(handle_, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(handle_, CURLOPT_HEADERFUNCTION, write_header);
    curl_easy_setopt(handle_, CURLOPT_HEADERDATA, &sink);
    curl_easy_setopt(handle_, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(options_.max_response_bytes));
    // Only the proxy given for this request is used, never one from the environment.
    curl_easy_setopt(handle_, CURLOPT_PROXY, req.proxy.c_str());
    if (!options_.ca_bundle.empty()) {
      curl_easy_setopt(handle_, CURLOPT_CAINFO, options_.ca_bundle.c_str());
    }
  }

  error transfer_error(const request& req, CURLcode code, const transfer_sink& sink) const {
    error failure;
    failure.url = redact_url(req.url);
    if (sink.too_large || code == CURLE_FILESIZE_EXCEEDED) {
      failure.kind = error_class::bad_response;
      failure.message = fmt::format(
          "response body exceeds the limit of {} bytes; raise the maximum response size if this "
          "source legitimately sends more",
          options_.max_response_bytes);
      return failure;
    }
    long proxy_status = 0;
    curl_easy_getinfo(handle_, CURLINFO_HTTP_CONNECTCODE, &proxy_status);
    // With a proxy set, every connection goes to the proxy first, so a failed connect is the
    // proxy's failure: class blocked makes the caller retry through the next proxy.
    bool proxy_unreachable = !req.proxy.empty() && code == CURLE_COULDNT_CONNECT;
    if (code == CURLE_COULDNT_RESOLVE_PROXY || proxy_status == 407 || proxy_unreachable) {
      failure.kind = error_class::blocked;
      failure.http_status = static_cast<int>(proxy_status);
      std::string proxy = redact_url(req.proxy);
      failure.message = proxy_status == 407
                            ? fmt::format("proxy {} rejected the credentials (HTTP 407)", proxy)
                        : proxy_unreachable
                            ? fmt::format("could not connect to proxy {}", proxy)
                            : fmt::format("proxy host {} could not be resolved", proxy);
      return failure;
    }
    failure.kind = error_class::transient;
    failure.message = fmt::format("{} {} failed: {}", req.method, failure.url,
                                  curl_easy_strerror(code));
    return failure;
  }

  curl_options options_;
  CURL* handle_ = nullptr;
};

}  // namespace

std::unique_ptr<client> make_curl_client(curl_options options) {
  return std::make_unique<curl_client>(std::move(options));
}

std::optional<std::string_view> response::header_value(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::optional<std::string> response::cookie(std::string_view name) const {
  for (const auto& h : headers) {
    if (!iequals(h.name, "Set-Cookie")) continue;
    std::string_view value = h.value;
    std::string_view pair = value.substr(0, value.find(';'));
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) == name) return std::string(trim(pair.substr(eq + 1)));
  }
  return std::nullopt;
}

std::string redact_url(std::string_view url) {
  auto cut = url.find_first_of("?#");
  std::string_view base = url.substr(0, cut);
  auto scheme_end = base.find("://");
  if (scheme_end == std::string_view::npos) return std::string(base);
  auto authority_start = scheme_end + 3;
  auto path_start = base.find('/', authority_start);
  auto at = base.rfind('@', path_start);
  if (at == std::string_view::npos || at < authority_start) return std::string(base);
  return std::string(base.substr(0, authority_start)) + std::string(base.substr(at + 1));
}

std::string url_encode(std::string_view text) {
  ensure_curl_initialized();
  char* encoded = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (encoded == nullptr) return {};
  std::string out(encoded);
  curl_free(encoded);
  return out;
}

}  // namespace job_fetcher::http
