// Tokens the simulator issues: visitor tokens (homepage cookie) and OAuth2 tokens.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace job_fetcher::upwork_sim {

// Handling of the presented refresh token in a refresh_token grant.
enum class refresh_rotation {
  rotate,  // return a new refresh token; the old one stops working
  same,    // return the same refresh token again
  omit,    // return no refresh token; the old one keeps working
};

// A registered OAuth2 client (API key).
struct oauth_client {
  std::string secret;
  bool job_postings_scope = true;  // "Read marketplace Job Postings"
};

enum class token_kind { visitor, access };

// The result of checking a bearer token.
enum class token_check { valid, unknown_or_expired, wrong_kind, missing_scope };

// The outcome of a token request, as the token endpoint sends it.
struct token_response {
  int status = 200;
  std::string body;  // JSON
};

// Registry of issued tokens. Thread-safe.
class token_registry {
 public:
  token_registry(std::chrono::seconds ttl, std::uint64_t seed, refresh_rotation rotation,
                 bool expires_in_as_string);

  void add_client(const std::string& id, oauth_client client);
  // A refresh token that any registered client may redeem.
  void add_refresh_token(const std::string& token);

  // Issues a visitor token (the `visitor_gql_token` cookie value).
  std::string issue_visitor_token();

  token_check check(const std::string& token, token_kind kind) const;

  // Handles POST /api/v3/oauth2/token with the form fields already decoded.
  token_response exchange(const std::map<std::string, std::string>& form);

  // Makes every token issued so far fail as expired; tokens issued later are valid again.
  void expire_all();

  std::chrono::seconds ttl() const { return ttl_; }

 private:
  struct issued_token {
    token_kind kind;
    bool job_postings_scope;
    std::chrono::system_clock::time_point expires_at;
  };

  std::string new_token_value();
  std::string grant_body(const std::string& access_token,
                         const std::optional<std::string>& refresh_token) const;

  const std::chrono::seconds ttl_;
  const refresh_rotation rotation_;
  const bool expires_in_as_string_;
  mutable std::mutex mutex_;
  std::mt19937_64 rng_;
  std::unordered_map<std::string, oauth_client> clients_;
  std::unordered_map<std::string, issued_token> tokens_;
  // Refresh token -> the client it was issued to (empty: any client).
  std::unordered_map<std::string, std::string> refresh_tokens_;
};

}  // namespace job_fetcher::upwork_sim
