// Locates the file of trusted CA certificates for TLS, which lives at a different path on each
// Linux distribution (Amazon Linux, where Lambda runs, differs from Debian, where we build).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace job_fetcher::aws {

// The distribution paths tried after SSL_CERT_FILE, in order: Amazon Linux and RHEL, Debian and
// Ubuntu, Alpine and the BSDs, Fedora's extracted bundle, openSUSE.
const std::vector<std::string>& default_ca_bundle_paths();

// Returns the first readable file among `ssl_cert_file` (when set and non-empty) and
// `candidates`. The error (class config) lists every path tried and says how to fix it.
result<std::string> find_ca_bundle(const std::optional<std::string>& ssl_cert_file,
                                   const std::vector<std::string>& candidates);

// Same, with SSL_CERT_FILE from the environment and default_ca_bundle_paths().
result<std::string> find_ca_bundle();

}  // namespace job_fetcher::aws
