#include "store/postgrest_store.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "store/factories.hpp"
#include "store/schema_postgres.hpp"

namespace job_fetcher::store {

namespace {

using json = nlohmann::json;

// Whether a request may be sent again after a transport error, when it is unknown whether the
// first attempt reached the database. An HTTP error response is always safe to retry: PostgREST
// rolls the request's transaction back before it answers with an error.
enum class replay { safe, unsafe };

std::int64_t epoch_seconds(timestamp at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

// The PostgREST error body {code, message, details, hint}; fields may be null or missing.
struct postgrest_error_body {
  std::string code;
  std::string message;
};

postgrest_error_body parse_error_body(const std::string& body) {
  postgrest_error_body parsed;
  auto document = json::parse(body, nullptr, false);
  if (document.is_discarded() || !document.is_object()) return parsed;
  if (auto code = document.find("code"); code != document.end() && code->is_string()) {
    parsed.code = code->get<std::string>();
  }
  if (auto text = document.find("message"); text != document.end() && text->is_string()) {
    parsed.message = text->get<std::string>();
  }
  return parsed;
}

// Classifies a non-2xx PostgREST response. A rejected key is a setup problem (config); a missing
// table or function means the schema was not applied; the rest fail the run as store errors.
error response_error(const http::response& answer, std::string_view operation,
                     const std::string& url) {
  auto body = parse_error_body(answer.body);
  std::string reason = body.message.empty() ? fmt::format("HTTP {}", answer.status) : body.message;
  std::string code = body.code.empty() ? "" : fmt::format(" [{}]", body.code);

  error failure;
  if (answer.status == 401 || answer.status == 403) {
    failure = make_error(error_class::config,
                         fmt::format("PostgREST rejected the API key for {}{}: {}; set "
                                     "POSTGREST_TOKEN or SUPABASE_CLIENT_ANON_KEY to a key with "
                                     "access to the job-fetcher schema",
                                     operation, code, reason));
  } else if (answer.status == 404) {
    failure = make_error(error_class::store,
                         fmt::format("PostgREST has no {}{}: {}; apply the schema printed by "
                                     "`job-fetcher migrate --print`, then reload PostgREST's "
                                     "schema cache",
                                     operation, code, reason));
  } else if (body.code.rfind("PGRST1", 0) == 0) {
    failure = make_error(error_class::store,
                         fmt::format("PostgREST rejected the {} request{}: {} (a job-fetcher "
                                     "bug: the request does not match the schema)",
                                     operation, code, reason));
  } else {
    failure = make_error(error_class::store,
                         fmt::format("PostgREST {} failed{}: {}", operation, code, reason));
  }
  failure.http_status = answer.status;
  failure.url = http::redact_url(url);
  failure.sqlstate = body.code;
  return failure;
}

class postgrest_store final : public job_store {
 public:
  postgrest_store(store_settings settings, postgrest_options options)
      : settings_(std::move(settings)), options_(std::move(options)) {
    while (!settings_.postgrest_url.empty() && settings_.postgrest_url.back() == '/') {
      settings_.postgrest_url.pop_back();
    }
    clients_.push_back(options_.make_client());
  }

  result<void> migrate() override;
  result<schema_versions> schema_version() override;
  result<bool> acquire_lease(const std::string& feed, const std::string& owner, timestamp now,
                             timestamp until) override;
  result<void> release_lease(const std::string& feed, const std::string& owner) override;
  result<std::optional<watermark>> load_watermark(const std::string& feed) override;
  result<std::int64_t> begin_run(const std::string& feed, timestamp started_at) override;
  result<upsert_counts> write_page(const page_write& page) override;
  result<void> finish_run(const run_record& run) override;
  result<std::vector<run_record>> recent_runs(const std::optional<std::string>& feed,
                                              int limit) override;
  result<std::optional<timestamp>> newest_published_at() override;
  result<std::optional<cached_token>> read_token(const std::string& name, timestamp now) override;
  result<void> write_token(const cached_token& token) override;
  using job_store::read_postings;
  result<std::vector<stored_posting>> read_postings(
      int limit, const std::optional<std::string>& feed) override;
  result<std::int64_t> prune(const std::string& feed, timestamp older_than) override;

 private:
  http::request make_request(std::string method, const std::string& path,
                             std::string body) const;
  result<http::response> send(http::client& client, const http::request& request,
                              std::string_view operation, replay mode);
  result<json> rpc(http::client& client, const std::string& function, const json& arguments,
                   replay mode);
  result<json> rpc(const std::string& function, const json& arguments, replay mode) {
    return rpc(*clients_.front(), function, arguments, mode);
  }
  result<upsert_counts> upsert_batches(const page_write& page);

  store_settings settings_;
  postgrest_options options_;
  std::vector<std::unique_ptr<http::client>> clients_;  // one per worker thread
};

http::request postgrest_store::make_request(std::string method, const std::string& path,
                                            std::string body) const {
  http::request request;
  request.method = std::move(method);
  request.url = settings_.postgrest_url + path;
  request.timeout = options_.timeout;
  request.headers = {
      {"apikey", settings_.postgrest_key.reveal()},
      {"Authorization", "Bearer " + settings_.postgrest_key.reveal()},
      {"Accept", "application/json"},
  };
  if (request.method == "POST") request.headers.push_back({"Content-Type", "application/json"});
  request.body = std::move(body);
  return request;
}

result<http::response> postgrest_store::send(http::client& client, const http::request& request,
                                             std::string_view operation, replay mode) {
  auto backoff = options_.first_backoff;
  for (int attempt = 1;; ++attempt) {
    auto answer = client.send(request);
    bool last = attempt >= options_.max_attempts;
    if (!answer) {
      if (last || mode == replay::unsafe) {
        error failure = std::move(answer).err();
        failure.kind = error_class::store;
        failure.message = fmt::format("PostgREST {} failed: {}", operation, failure.message);
        return failure;
      }
      log::warn("store.postgrest", "request failed, retrying",
                {{"operation", std::string(operation)},
                 {"attempt", attempt},
                 {"error", answer.err().describe()}});
    } else if (answer->status >= 500 && !last) {
      log::warn("store.postgrest", "server error, retrying",
                {{"operation", std::string(operation)},
                 {"attempt", attempt},
                 {"status", answer->status}});
    } else {
      return answer;
    }
    options_.sleep(backoff);
    backoff *= 2;
  }
}

result<json> postgrest_store::rpc(http::client& client, const std::string& function,
                                  const json& arguments, replay mode) {
  auto request = make_request("POST", "/rpc/" + function, arguments.dump());
  auto answer = send(client, request, function, mode);
  if (!answer) return std::move(answer).err();
  if (answer->status < 200 || answer->status > 299) {
    return response_error(*answer, function, request.url);
  }
  if (answer->body.empty()) return json(nullptr);
  auto parsed = json::parse(answer->body, nullptr, false);
  if (parsed.is_discarded()) {
    return make_error(error_class::store,
                      fmt::format("PostgREST {} returned a body that is not JSON", function));
  }
  return parsed;
}

result<void> postgrest_store::migrate() {
  // PostgREST cannot run DDL. Calling a function of the newest migration shows an operator early
  // that the schema from `job-fetcher migrate --print` has not been applied.
  auto checked = rpc("read_postings", {{"p_limit", 0}, {"p_feed", nullptr}}, replay::safe);
  if (!checked) {
    error failure = std::move(checked).err();
    failure.message += "; apply the SQL that job-fetcher migrate --print prints";
    return failure;
  }
  return {};
}

// PostgREST does not expose schema_migrations, so the version is the latest when the newest
// migration's function responds.
result<schema_versions> postgrest_store::schema_version() {
  if (auto checked = migrate(); !checked) return std::move(checked).err();
  int latest = postgres::latest_schema_version();
  return schema_versions{latest, latest};
}

result<bool> postgrest_store::acquire_lease(const std::string& feed, const std::string& owner,
                                            timestamp now, timestamp until) {
  auto taken = rpc("acquire_lease",
                   {{"p_feed", feed},
                    {"p_owner", owner},
                    {"p_now", format_timestamp(now)},
                    {"p_until", format_timestamp(until)}},
                   replay::safe);
  if (!taken) return std::move(taken).err();
  return taken->is_boolean() && taken->get<bool>();
}

result<void> postgrest_store::release_lease(const std::string& feed, const std::string& owner) {
  auto released = rpc("release_lease", {{"p_feed", feed}, {"p_owner", owner}}, replay::safe);
  if (!released) return std::move(released).err();
  return {};
}

result<std::optional<watermark>> postgrest_store::load_watermark(const std::string& feed) {
  auto value = rpc("load_watermark", {{"p_feed", feed}}, replay::safe);
  if (!value) return std::move(value).err();
  return postgres::watermark_from_json(*value);
}

result<std::int64_t> postgrest_store::begin_run(const std::string& feed, timestamp started_at) {
  auto id = rpc("begin_run", {{"p_feed", feed}, {"p_started_at", format_timestamp(started_at)}},
                replay::unsafe);
  if (!id) return std::move(id).err();
  if (!id->is_number_integer()) {
    return make_error(error_class::store, "PostgREST begin_run returned no run id");
  }
  return id->get<std::int64_t>();
}

result<upsert_counts> postgrest_store::write_page(const page_write& page) {
  auto counts = upsert_batches(page);
  if (!counts) return counts;

  json new_watermark = nullptr;
  if (page.new_watermark) {
    new_watermark = {{"at", format_timestamp(page.new_watermark->at)},
                     {"ids", page.new_watermark->ids}};
  }
  auto recorded = rpc("record_page",
                      {{"p_feed", page.feed},
                       {"p_run_id", page.run_id},
                       {"p_watermark", new_watermark},
                       {"p_api_requests", page.api_requests},
                       {"p_pages", page.pages},
                       {"p_seen", counts->inserted + counts->updated + counts->unchanged},
                       {"p_new", counts->inserted},
                       {"p_updated", counts->updated},
                       {"p_now", format_timestamp(page.seen_at)}},
                      replay::unsafe);
  if (!recorded) return std::move(recorded).err();
  return counts;
}

result<upsert_counts> postgrest_store::upsert_batches(const page_write& page) {
  // The last posting of an id wins, and a batch never holds the same id twice.
  std::vector<const upwork::posting*> distinct;
  for (auto it = page.postings.rbegin(); it != page.postings.rend(); ++it) {
    bool seen = std::any_of(distinct.begin(), distinct.end(),
                            [&](const upwork::posting* kept) { return kept->id == it->id; });
    if (!seen) distinct.push_back(&*it);
  }
  std::reverse(distinct.begin(), distinct.end());
  if (distinct.empty()) return upsert_counts{};

  auto batch_rows = static_cast<std::size_t>(std::max(1, settings_.postgrest_batch_rows));
  std::vector<json> batches;
  for (std::size_t start = 0; start < distinct.size(); start += batch_rows) {
    json rows = json::array();
    for (std::size_t i = start; i < std::min(distinct.size(), start + batch_rows); ++i) {
      rows.push_back(postgres::posting_to_json(*distinct[i]));
    }
    batches.push_back({{"p_feed", page.feed},
                       {"p_seen_at", format_timestamp(page.seen_at)},
                       {"p_postings", std::move(rows)}});
  }

  auto workers = std::min<std::size_t>(batches.size(),
                                       static_cast<std::size_t>(
                                           std::max(1, settings_.postgrest_parallelism)));
  while (clients_.size() < workers) clients_.push_back(options_.make_client());

  std::mutex mutex;
  upsert_counts total;
  std::optional<error> failure;
  std::atomic<std::size_t> next{0};
  auto work = [&](http::client& client) {
    for (std::size_t index = next++; index < batches.size(); index = next++) {
      auto counts = rpc(client, "upsert_postings", batches[index], replay::safe);
      std::lock_guard lock(mutex);
      if (!counts) {
        if (!failure) failure = std::move(counts).err();
        continue;
      }
      auto parsed = postgres::upsert_counts_from_json(*counts);
      if (!parsed) {
        if (!failure) failure = std::move(parsed).err();
        continue;
      }
      total.inserted += parsed->inserted;
      total.updated += parsed->updated;
      total.unchanged += parsed->unchanged;
    }
  };

  std::vector<std::jthread> threads;
  for (std::size_t i = 1; i < workers; ++i) threads.emplace_back(work, std::ref(*clients_[i]));
  work(*clients_.front());
  threads.clear();  // joins

  if (failure) return std::move(*failure);
  return total;
}

result<void> postgrest_store::finish_run(const run_record& run) {
  auto finished = rpc("finish_run", {{"p_run", postgres::run_record_to_json(run)}}, replay::safe);
  if (!finished) return std::move(finished).err();
  if (!finished->is_boolean() || !finished->get<bool>()) {
    return make_error(error_class::store,
                      fmt::format("fetch_runs has no run with id {}", run.id));
  }
  return {};
}

result<std::vector<run_record>> postgrest_store::recent_runs(
    const std::optional<std::string>& feed, int limit) {
  json feed_argument = feed ? json(*feed) : json(nullptr);
  auto value = rpc("recent_runs", {{"p_feed", feed_argument}, {"p_limit", limit}}, replay::safe);
  if (!value) return std::move(value).err();
  std::vector<run_record> runs;
  for (const auto& row : *value) {
    auto run = postgres::run_record_from_json(row);
    if (!run) return std::move(run).err();
    runs.push_back(std::move(*run));
  }
  return runs;
}

result<std::optional<timestamp>> postgrest_store::newest_published_at() {
  auto request = make_request(
      "GET", "/upwork_jobs?select=published_at&order=published_at.desc&limit=1", "");
  auto answer = send(*clients_.front(), request, "upwork_jobs read", replay::safe);
  if (!answer) return std::move(answer).err();
  if (answer->status != 200) return response_error(*answer, "upwork_jobs read", request.url);

  auto rows = json::parse(answer->body, nullptr, false);
  if (rows.is_discarded() || !rows.is_array()) {
    return make_error(error_class::store, "PostgREST upwork_jobs read returned no JSON array");
  }
  if (rows.empty()) return std::optional<timestamp>{};
  const auto& cell = rows.front().value("published_at", json(nullptr));
  auto parsed = cell.is_string() ? parse_timestamp(cell.get<std::string>()) : std::nullopt;
  if (!parsed) {
    return make_error(error_class::store, "PostgREST returned an invalid published_at");
  }
  return std::optional<timestamp>{*parsed};
}

result<std::optional<cached_token>> postgrest_store::read_token(const std::string& name,
                                                                timestamp now) {
  auto value = rpc("read_token", {{"p_name", name}, {"p_now_epoch", epoch_seconds(now)}},
                   replay::safe);
  if (!value) return std::move(value).err();
  return postgres::cached_token_from_json(*value);
}

result<void> postgrest_store::write_token(const cached_token& token) {
  // A repeated insert after a lost reply stores the same token twice, which the newest-row read
  // tolerates; so the call may be replayed.
  auto written = rpc("write_token",
                     {{"p_name", token.name},
                      {"p_value", token.value.reveal()},
                      {"p_expires", token.expires},
                      {"p_created_at", format_timestamp(token.created_at)}},
                     replay::safe);
  if (!written) return std::move(written).err();
  return {};
}

result<std::vector<stored_posting>> postgrest_store::read_postings(
    int limit, const std::optional<std::string>& feed) {
  nlohmann::json arguments = {{"p_limit", limit}, {"p_feed", nullptr}};
  if (feed) arguments["p_feed"] = *feed;
  auto value = rpc("read_postings", arguments, replay::safe);
  if (!value) return std::move(value).err();
  std::vector<stored_posting> postings;
  for (const auto& row : *value) {
    auto stored = postgres::stored_posting_from_json(row);
    if (!stored) return std::move(stored).err();
    postings.push_back(std::move(*stored));
  }
  return postings;
}

result<std::int64_t> postgrest_store::prune(const std::string& feed, timestamp older_than) {
  // Replaying is safe: a second call finds nothing left to release.
  auto released = rpc("prune_feed",
                      {{"p_feed", feed}, {"p_older_than", format_timestamp(older_than)}},
                      replay::safe);
  if (!released) return std::move(released).err();
  if (!released->is_number_integer()) {
    return make_error(error_class::store, "PostgREST prune_feed returned no count");
  }
  return released->get<std::int64_t>();
}

}  // namespace

result<std::unique_ptr<job_store>> make_postgrest_store(const store_settings& settings,
                                                        postgrest_options options) {
  if (settings.postgrest_url.empty()) {
    return make_error(error_class::config,
                      "POSTGREST_URL is empty; set it to the PostgREST base URL, for example "
                      "https://PROJECT.supabase.co/rest/v1");
  }
  if (settings.postgrest_key.empty()) {
    return make_error(error_class::config,
                      "the PostgREST key is missing; set POSTGREST_TOKEN or "
                      "SUPABASE_CLIENT_ANON_KEY");
  }
  if (!options.make_client) options.make_client = [] { return http::make_curl_client(); };
  if (!options.sleep) {
    options.sleep = [](std::chrono::milliseconds pause) {
      system_clock_source().sleep_for(pause);
    };
  }
  options.max_attempts = std::max(1, options.max_attempts);
  return std::unique_ptr<job_store>(
      std::make_unique<postgrest_store>(settings, std::move(options)));
}

result<std::unique_ptr<job_store>> make_postgrest_store(const store_settings& settings) {
  return make_postgrest_store(settings, postgrest_options{});
}

}  // namespace job_fetcher::store
