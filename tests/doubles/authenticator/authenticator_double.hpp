// A loopback stand-in for the two remote authenticators:
//   POST /                                         the HTTP contract: {"secret"} -> {"token"}
//   POST /2015-03-31/functions/{name}/invocations  the AWS Lambda Invoke API
// The Lambda face verifies the SigV4 signature with its credentials and rejects a mismatch
// with 403 and AWS's InvalidSignatureException message. Both faces mint a new token
// ("double-token-N") per accepted call, count calls, and can be told to fail or to hang.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "aws/sigv4.hpp"

namespace httplib {
class Server;
}

namespace job_fetcher::doubles {

// How the HTTP face encodes a successful response.
enum class token_reply_shape {
  object,         // {"token": "…", "expires_in": N}
  json_string,    // "{\"token\": \"…\", \"expires_in\": N}"
  status_object,  // {"status_code": 200, "token": "…", "expires_in": N}
};

// The credentials the Lambda face checks signatures against: the AWS test suite's key pair and a
// session token.
aws::credentials authenticator_double_credentials();

inline constexpr const char* authenticator_double_region = "us-east-1";

class authenticator_double {
 public:
  // Starts listening on 127.0.0.1 at an ephemeral port. Callers must send `expected_secret`.
  explicit authenticator_double(std::string expected_secret,
                                aws::credentials creds = authenticator_double_credentials());
  ~authenticator_double();
  authenticator_double(const authenticator_double&) = delete;
  authenticator_double& operator=(const authenticator_double&) = delete;

  // "http://127.0.0.1:PORT/", the value for AUTHORIZER_URL.
  std::string url() const;
  // "http://127.0.0.1:PORT", the value for AWS_LAMBDA_ENDPOINT.
  std::string endpoint() const;

  void set_reply_shape(token_reply_shape shape);
  // Lifetime stated in responses ("expires_in"); nothing: the field is left out.
  void set_token_lifetime(std::optional<std::chrono::seconds> lifetime);

  // The next `count` calls (either face) get HTTP `status` with a JSON error body.
  void fail_next(int count, int status = 500);
  // The next `count` Lambda calls get 200 with X-Amz-Function-Error: Unhandled and an
  // errorMessage/errorType payload, as when the function crashed.
  void function_error_next(int count);
  // The next `count` calls (either face) wait `delay` before responding; stop() ends the wait.
  void hang_next(int count, std::chrono::milliseconds delay);

  int http_calls() const;              // calls to POST /
  int lambda_calls() const;            // calls to the Invoke API, rejected ones included
  int rejected_signatures() const;     // Invoke calls rejected with 403
  std::vector<std::string> tokens_issued() const;
  std::vector<std::string> functions_invoked() const;  // decoded names, with ":Qualifier" if any

  // Stops the server and wakes hanging handlers; the destructor calls it.
  void stop();

 private:
  struct state;
  std::shared_ptr<state> state_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace job_fetcher::doubles
