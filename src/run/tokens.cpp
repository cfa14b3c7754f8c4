// The bearer token provider: the token chain of the auth folder behind the run loop's interface.
#include <cstdio>

#include <fmt/format.h>

#include "auth/http_authenticator.hpp"
#include "auth/oauth2_authenticator.hpp"
#include "auth/token_chain.hpp"
#include "auth/visitor_authenticator.hpp"
#include "aws/lambda_invoke.hpp"
#include "run/app.hpp"

namespace job_fetcher::run {

std::unique_ptr<auth::authenticator> make_builtin_minter(const settings& values,
                                                        http::client& client,
                                                        store::job_store& store,
                                                        clock_source& clock) {
  if (values.source == "marketplace") {
    auth::oauth2_settings oauth;
    oauth.token_url = values.token_url;
    oauth.client_id = values.client_id;
    oauth.client_secret = values.client_secret;
    oauth.refresh_token = values.refresh_token;
    oauth.token_name = values.token_name;
    oauth.grant = values.refresh_token.empty() ? auth::oauth2_grant::client_credentials
                                               : auth::oauth2_grant::refresh_token;
    oauth.timeout = values.request_timeout;
    return std::make_unique<auth::oauth2_authenticator>(client, store, oauth, clock);
  }
  auth::visitor_authenticator_settings visitor;
  visitor.home_url = values.home_url;
  visitor.timeout = values.request_timeout;
  visitor.proxy = values.https_proxy;
  return std::make_unique<auth::visitor_authenticator>(client, visitor, clock);
}

namespace {

class chain_token_provider final : public bearer_token_provider {
 public:
  chain_token_provider(const settings& values, http::client& client, store::job_store& store,
                       clock_source& clock)
      : minter_(make_authenticator(values, client, store, clock)),
        mints_upwork_(values.authorizer_url.empty() && values.authenticator_function.empty()),
        chain_(store, minter_.get(), chain_settings(values), clock) {}

  result<secret> get() override {
    auto token = chain_.get();
    if (!token) return std::move(token).err();
    return token->value;
  }

  result<secret> replace(const secret&) override {
    chain_.invalidate();
    return get();
  }

  std::int64_t upstream_requests() const override { return mints_upwork_ ? chain_.mints() : 0; }

 private:
  static auth::token_chain_settings chain_settings(const settings& values) {
    auth::token_chain_settings chain;
    chain.static_token = values.upwork_token;
    chain.token_name = values.token_name;
    return chain;
  }

  std::unique_ptr<auth::authenticator> make_authenticator(const settings& values,
                                                          http::client& client,
                                                          store::job_store& store,
                                                          clock_source& clock) {
    if (!values.authorizer_url.empty()) {
      return std::make_unique<auth::http_authenticator>(
          client, auth::http_authenticator_settings{values.authorizer_url, values.auth_secret,
                                                    values.request_timeout},
          clock);
    }
    if (!values.authenticator_function.empty()) {
      auto lambda = aws::lambda_settings_from_environment();
      if (!lambda) throw config_error(lambda.err().message);
      if (!values.lambda_endpoint.empty()) lambda->endpoint = values.lambda_endpoint;
      invoker_ = std::make_unique<aws::lambda_invoke_client>(client, *lambda, clock);
      auth::lambda_authenticator_settings lambda_auth;
      lambda_auth.function = values.authenticator_function;
      lambda_auth.qualifier = values.authenticator_qualifier;
      lambda_auth.auth_secret = values.auth_secret;
      return std::make_unique<auth::lambda_authenticator>(*invoker_, lambda_auth, clock);
    }
    return make_builtin_minter(values, client, store, clock);
  }

  std::unique_ptr<aws::lambda_invoke_client> invoker_;
  std::unique_ptr<auth::authenticator> minter_;
  bool mints_upwork_;
  auth::token_chain chain_;
};

}  // namespace

std::unique_ptr<bearer_token_provider> make_token_provider(const settings& values,
                                                           http::client& client,
                                                           store::job_store& store,
                                                           clock_source& clock) {
  return std::make_unique<chain_token_provider>(values, client, store, clock);
}

}  // namespace job_fetcher::run

namespace job_fetcher::run {

int token_command(const settings& values, bool refresh, bool show) {
  app fetcher(values);
  auto store = fetcher.store();
  if (!store) {
    std::fprintf(stderr, "job-fetcher: %s\n", store.err().describe().c_str());
    return 1;
  }
  auto client = http::make_curl_client({values.max_response_bytes, values.ca_bundle, "job-fetcher/0.1"});
  auto tokens = make_token_provider(values, *client, **store, system_clock_source());
  auto token = tokens->get();
  if (token && refresh) token = tokens->replace(*token);
  if (!token) {
    std::fprintf(stderr, "job-fetcher: %s\n", token.err().describe().c_str());
    return 1;
  }
  std::puts(show ? token->reveal().c_str() : token->masked().c_str());
  return 0;
}

}  // namespace job_fetcher::run
