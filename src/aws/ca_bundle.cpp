#include "aws/ca_bundle.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>

namespace job_fetcher::aws {

namespace {

// True when the path names a file this process can open and read at least one byte from.
// An empty file is rejected, because TLS would then trust nothing and fail on every request.
bool is_readable_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return file.is_open() && file.peek() != std::ifstream::traits_type::eof();
}

}  // namespace

const std::vector<std::string>& default_ca_bundle_paths() {
  static const std::vector<std::string> paths{
      "/etc/pki/tls/certs/ca-bundle.crt",
      "/etc/ssl/certs/ca-certificates.crt",
      "/etc/ssl/cert.pem",
      "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
      "/etc/ssl/ca-bundle.pem",
  };
  return paths;
}

result<std::string> find_ca_bundle(const std::optional<std::string>& ssl_cert_file,
                                   const std::vector<std::string>& candidates) {
  std::vector<std::string> tried;
  if (ssl_cert_file && !ssl_cert_file->empty()) tried.push_back(*ssl_cert_file);
  tried.insert(tried.end(), candidates.begin(), candidates.end());

  for (const auto& path : tried) {
    if (is_readable_file(path)) return path;
  }
  return make_error(error_class::config,
                    fmt::format("no readable CA bundle found (tried {}); install the CA "
                                "certificates package or set SSL_CERT_FILE to a PEM bundle",
                                fmt::join(tried, ", ")));
}

result<std::string> find_ca_bundle() {
  const char* from_env = std::getenv("SSL_CERT_FILE");
  std::optional<std::string> ssl_cert_file;
  if (from_env != nullptr) ssl_cert_file = from_env;
  return find_ca_bundle(ssl_cert_file, default_ca_bundle_paths());
}

}  // namespace job_fetcher::aws
