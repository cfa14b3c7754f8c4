#include "tokens.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace job_fetcher::upwork_sim {
namespace {

std::string oauth_error(const std::string& code, const std::string& description) {
  return nlohmann::ordered_json{{"error", code}, {"error_description", description}}.dump();
}

std::string form_value(const std::map<std::string, std::string>& form, const std::string& key) {
  auto found = form.find(key);
  return found == form.end() ? std::string() : found->second;
}

}  // namespace

token_registry::token_registry(std::chrono::seconds ttl, std::uint64_t seed,
                               refresh_rotation rotation, bool expires_in_as_string)
    : ttl_(ttl), rotation_(rotation), expires_in_as_string_(expires_in_as_string), rng_(seed) {}

void token_registry::add_client(const std::string& id, oauth_client client) {
  std::lock_guard lock(mutex_);
  clients_[id] = std::move(client);
}

void token_registry::add_refresh_token(const std::string& token) {
  std::lock_guard lock(mutex_);
  refresh_tokens_[token] = "";
}

std::string token_registry::new_token_value() {
  return fmt::format("oauth2v2_{:016x}{:016x}", rng_(), rng_());
}

std::string token_registry::issue_visitor_token() {
  std::lock_guard lock(mutex_);
  std::string token = new_token_value();
  tokens_[token] = {token_kind::visitor, false, std::chrono::system_clock::now() + ttl_};
  return token;
}

token_check token_registry::check(const std::string& token, token_kind kind) const {
  std::lock_guard lock(mutex_);
  auto found = tokens_.find(token);
  if (found == tokens_.end() || found->second.expires_at <= std::chrono::system_clock::now()) {
    return token_check::unknown_or_expired;
  }
  if (found->second.kind != kind) {
    return token_check::wrong_kind;
  }
  if (kind == token_kind::access && !found->second.job_postings_scope) {
    return token_check::missing_scope;
  }
  return token_check::valid;
}

void token_registry::expire_all() {
  std::lock_guard lock(mutex_);
  const auto past = std::chrono::system_clock::now() - std::chrono::seconds{1};
  for (auto& [value, token] : tokens_) {
    token.expires_at = past;
  }
}

std::string token_registry::grant_body(const std::string& access_token,
                                       const std::optional<std::string>& refresh_token) const {
  nlohmann::ordered_json body{{"access_token", access_token}};
  if (refresh_token) {
    body["refresh_token"] = *refresh_token;
  }
  body["token_type"] = "bearer";
  if (expires_in_as_string_) {
    body["expires_in"] = std::to_string(ttl_.count());
  } else {
    body["expires_in"] = ttl_.count();
  }
  return body.dump();
}

token_response token_registry::exchange(const std::map<std::string, std::string>& form) {
  std::lock_guard lock(mutex_);
  const std::string grant_type = form_value(form, "grant_type");
  const std::string client_id = form_value(form, "client_id");

  auto client = clients_.find(client_id);
  if (client == clients_.end() || client->second.secret != form_value(form, "client_secret")) {
    return {401, oauth_error("invalid_client", "Client authentication failed")};
  }

  std::optional<std::string> refresh_token;
  if (grant_type == "refresh_token") {
    const std::string presented = form_value(form, "refresh_token");
    auto found = refresh_tokens_.find(presented);
    if (presented.empty() || found == refresh_tokens_.end() ||
        (!found->second.empty() && found->second != client_id)) {
      return {400, oauth_error("invalid_grant", "The refresh token is invalid, expired or was "
                                                "already used")};
    }
    switch (rotation_) {
      case refresh_rotation::rotate:
        refresh_tokens_.erase(found);
        refresh_token = new_token_value();
        refresh_tokens_[*refresh_token] = client_id;
        break;
      case refresh_rotation::same:
        refresh_token = presented;
        break;
      case refresh_rotation::omit:
        break;
    }
  } else if (grant_type != "client_credentials") {
    return {400, oauth_error("unsupported_grant_type",
                             "grant_type must be refresh_token or client_credentials")};
  }

  const std::string access_token = new_token_value();
  tokens_[access_token] = {token_kind::access, client->second.job_postings_scope,
                           std::chrono::system_clock::now() + ttl_};
  return {200, grant_body(access_token, refresh_token)};
}

}  // namespace job_fetcher::upwork_sim
