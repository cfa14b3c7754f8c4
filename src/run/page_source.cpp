#include "run/page_source.hpp"

#include <fmt/format.h>

#include "core/log.hpp"
#include "upwork/normalize.hpp"

namespace job_fetcher::run {

namespace {

class retrying_page_source final : public page_source {
 public:
  retrying_page_source(http::client& client, const search_protocol& protocol,
                       bearer_token_provider& tokens, rate_limiter& limiter, clock_source& clock,
                       page_source_options options)
      : client_(client),
        protocol_(protocol),
        tokens_(tokens),
        limiter_(limiter),
        clock_(clock),
        options_(options),
        rng_(options.seed) {}

  result<upwork::page> fetch(const page_cursor& cursor,
                             std::chrono::steady_clock::time_point deadline) override {
    auto token = tokens_.get();
    if (!token) return std::move(token).err();

    bool inline_pagination = false;
    for (int attempt = 1;; ++attempt) {
      auto outcome = attempt_once(cursor, *token, inline_pagination, deadline);
      if (outcome) return outcome;
      error failure = std::move(outcome).err();
      // A limit of the run itself: retrying cannot help.
      if (!failure.stop_reason.empty()) return failure;

      if (failure.kind == error_class::auth && !renewed_) {
        // One renewal per run: a second 401 means the new token is bad too.
        renewed_ = true;
        log::warn("fetch", "token rejected, getting a new one", {{"status", failure.http_status}});
        auto fresh = tokens_.replace(*token);
        if (!fresh) return std::move(fresh).err();
        token = std::move(fresh);
        continue;
      }
      if (!inline_pagination && protocol_.wants_inline_retry(failure)) {
        inline_pagination = true;
        log::warn("fetch", "retrying once with pagination inlined in the query",
                  {{"offset", cursor.offset}, {"after", cursor.after}});
        continue;
      }
      auto decision = decide_retry(options_.retry, failure, attempt, clock_.steady_now(),
                                   deadline, rng_);
      if (!decision.retry) return failure;
      log::warn("fetch", "retrying after a failed request",
                {{"attempt", attempt},
                 {"error_class", std::string(to_string(failure.kind))},
                 {"status", failure.http_status},
                 {"error", failure.message},
                 {"wait_ms", decision.wait.count()}});
      clock_.sleep_for(decision.wait);
    }
  }

  std::int64_t requests() const override { return sent_ + tokens_.upstream_requests(); }

 private:
  result<upwork::page> attempt_once(const page_cursor& cursor, const secret& token,
                                    bool inline_pagination,
                                    std::chrono::steady_clock::time_point deadline) {
    if (sent_ >= options_.request_budget) {
      error failure = make_error(
          error_class::transient,
          fmt::format("the run used its request budget of {} requests; raise "
                      "JOB_FETCHER_REQUEST_BUDGET if this feed needs more",
                      options_.request_budget));
      failure.stop_reason = "request_budget";
      return failure;
    }
    if (!limiter_.acquire(deadline)) {
      error failure = make_error(error_class::transient,
                                 "the rate limit leaves no request before the run's deadline");
      failure.stop_reason = "deadline";
      return failure;
    }
    http::request req = protocol_.build(cursor, token, inline_pagination);
    if (options_.proxies != nullptr) {
      if (const auto* proxy = options_.proxies->next()) {
        req.proxy = proxy->url.reveal();
        log::debug("fetch", "sending through a proxy", {{"proxy", proxy->label}});
      }
    }
    // A request in flight must not outlive the run's deadline, so its timeout is capped by the
    // time left. A request cut this way fails as transient, and the run loop then stops paging.
    // Rounding up makes the cut come at or after the deadline, never a fraction of a millisecond
    // before it, so the run loop recognizes it.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock_.steady_now());
    if (left.count() <= 0) {
      error failure = make_error(error_class::transient, "no time is left before the run's deadline");
      failure.stop_reason = "deadline";
      return failure;
    }
    bool capped = req.timeout.count() == 0 || left < req.timeout;
    if (capped) req.timeout = left;
    ++sent_;
    auto response = client_.send(req);
    if (!response) {
      error failure = std::move(response).err();
      if (capped && clock_.steady_now() >= deadline) {
        failure.message = fmt::format("the request did not finish before the run's deadline "
                                      "({} ms were left): {}",
                                      left.count(), failure.message);
      }
      return failure;
    }
    auto page = protocol_.parse(*response);
    if (page) truncate_descriptions(*page);
    return page;
  }

  void truncate_descriptions(upwork::page& page) {
    if (options_.max_description_bytes == 0) return;
    for (auto& posting : page.postings) {
      std::size_t original = posting.description.size();
      if (!truncate_description(posting, options_.max_description_bytes)) continue;
      ++truncated_;
      log::warn("fetch", "description longer than the maximum, stored truncated",
                {{"id", posting.id},
                 {"bytes", original},
                 {"max_bytes", options_.max_description_bytes},
                 {"truncated_in_run", truncated_}});
    }
  }

  http::client& client_;
  const search_protocol& protocol_;
  bearer_token_provider& tokens_;
  rate_limiter& limiter_;
  clock_source& clock_;
  page_source_options options_;
  std::mt19937_64 rng_;
  std::int64_t sent_ = 0;
  std::int64_t truncated_ = 0;
  bool renewed_ = false;
};

}  // namespace

bool truncate_description(upwork::posting& posting, std::size_t max_bytes) {
  std::string& text = posting.description;
  if (text.size() <= max_bytes) return false;
  std::size_t keep = max_bytes > description_truncation_marker.size()
                         ? max_bytes - description_truncation_marker.size()
                         : 0;
  // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is cut in half.
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
  text.resize(keep);
  text.append(description_truncation_marker);
  posting.content_hash = upwork::content_hash(posting);
  return true;
}

std::unique_ptr<page_source> make_page_source(http::client& client,
                                              const search_protocol& protocol,
                                              bearer_token_provider& tokens,
                                              rate_limiter& limiter, clock_source& clock,
                                              page_source_options options) {
  return std::make_unique<retrying_page_source>(client, protocol, tokens, limiter, clock, options);
}

}  // namespace job_fetcher::run
