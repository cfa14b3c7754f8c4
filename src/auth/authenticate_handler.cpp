#include "auth/authenticate_handler.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <mutex>
#include <optional>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/log.hpp"

namespace job_fetcher::auth {

namespace {

using nlohmann::json;

constexpr std::size_t digest_size = 32;
using digest = std::array<unsigned char, digest_size>;

// A random per-process key, so the digests reveal nothing about the secrets they hash.
const std::array<unsigned char, 32>& comparison_key() {
  static std::array<unsigned char, 32> key{};
  static std::once_flag once;
  std::call_once(once, [] {
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
      throw std::runtime_error("OpenSSL RAND_bytes failed to create the secret comparison key");
    }
  });
  return key;
}

digest keyed_digest(std::string_view text) {
  digest out{};
  unsigned int length = 0;
  const auto& key = comparison_key();
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data(), &length);
  return out;
}

// Finds the secret in the accepted request shapes; nothing when the body has none.
std::optional<std::string> presented_secret(const json& document, int depth = 0) {
  if (depth > 2) return std::nullopt;
  if (document.is_string()) {
    json inner = json::parse(document.get<std::string>(), nullptr, false);
    if (inner.is_discarded()) return std::nullopt;
    return presented_secret(inner, depth + 1);
  }
  if (!document.is_object()) return std::nullopt;
  if (document.contains("secret") && document["secret"].is_string()) {
    return document["secret"].get<std::string>();
  }
  if (document.contains("body")) return presented_secret(document["body"], depth + 1);
  return std::nullopt;
}

std::string response_body(int status, std::string_view error_text) {
  return json{{"status_code", status}, {"error", error_text}}.dump();
}

}  // namespace

bool secrets_equal(std::string_view presented, const secret& expected) {
  digest a = keyed_digest(presented);
  digest b = keyed_digest(expected.reveal());
  return CRYPTO_memcmp(a.data(), b.data(), digest_size) == 0;
}

result<std::string> handle_authenticate(std::string_view request_body,
                                        const authenticate_settings& settings,
                                        authenticator& minter, store::job_store& store,
                                        clock_source& clock) {
  if (settings.expected_secret.empty()) {
    return make_error(error_class::config,
                      "AUTH_SECRET is not set; the authenticator needs a secret its callers share");
  }

  json document = json::parse(request_body, nullptr, false);
  if (document.is_discarded()) {
    log::warn("auth.handler", "rejected a request body that is not JSON");
    return response_body(400, "request body must be JSON: {\"secret\": \"...\"}");
  }

  // The comparison runs for missing secrets too, so a missing field costs the same time.
  std::optional<std::string> presented = presented_secret(document);
  bool valid = secrets_equal(presented.value_or(std::string()), settings.expected_secret);
  if (!presented || !valid) {
    log::warn("auth.handler", "rejected an invalid secret");
    return response_body(401, "invalid secret");
  }

  auto minted = minter.mint();
  if (!minted) return std::move(minted).err();

  std::int64_t expires = std::chrono::duration_cast<std::chrono::seconds>(
                             minted->expires_at.time_since_epoch())
                             .count();
  store::cached_token row;
  row.name = settings.token_name;
  row.value = minted->value;
  row.expires = expires;
  row.created_at = clock.now();
  auto written = store.write_token(row);
  if (!written) {
    log::error("auth.handler", "caching the minted token failed",
               {{"token_name", settings.token_name}, {"error", written.err().describe()}});
  }

  log::info("auth.handler", "minted a token", {{"token_name", settings.token_name}});
  return json{{"status_code", 200}, {"token", minted->value.reveal()}, {"expires", expires}}.dump();
}

}  // namespace job_fetcher::auth
