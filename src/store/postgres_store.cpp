#include "store/postgres_store.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "store/factories.hpp"
#include "store/schema_postgres.hpp"

namespace job_fetcher::store {

namespace postgres {

namespace {

// SQLSTATE class 08 (connection exception) for failures that libpq reports without a code.
constexpr std::string_view connection_failure_sqlstate = "08006";

// libpq error messages end with a newline and may span lines; keep one line for the ledger.
std::string one_line(std::string_view text) {
  std::string line(text);
  std::replace(line.begin(), line.end(), '\n', ' ');
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

std::string field(const PGresult* handle, int code) {
  const char* value = PQresultErrorField(handle, code);
  return value ? value : "";
}

void ignore_notice(void*, const char*) {}

}  // namespace

// rows

rows::~rows() = default;

void rows::release::operator()(pg_result* handle) const noexcept { PQclear(handle); }

int rows::size() const noexcept { return handle_ ? PQntuples(handle_.get()) : 0; }

bool rows::is_null(int row, int column) const noexcept {
  return PQgetisnull(handle_.get(), row, column) != 0;
}

std::string_view rows::text(int row, int column) const noexcept {
  const PGresult* handle = handle_.get();
  return {PQgetvalue(handle, row, column),
          static_cast<std::size_t>(PQgetlength(handle, row, column))};
}

// connection

result<connection> connection::open(const std::string& conninfo) {
  // Defaults come before "dbname", so the caller's connection string overrides them.
  const char* keywords[] = {"client_encoding", "application_name", "connect_timeout", "dbname",
                            nullptr};
  const char* values[] = {"UTF8", "job-fetcher", "10", conninfo.c_str(), nullptr};
  connection opened(PQconnectdbParams(keywords, values, 1));
  if (opened.handle_ == nullptr) {
    return make_error(error_class::store, "PostgreSQL connect failed: out of memory");
  }
  if (PQstatus(opened.handle_) != CONNECTION_OK) return opened.connection_error("connect");
  PQsetNoticeProcessor(opened.handle_, ignore_notice, nullptr);
  return opened;
}

connection::connection(connection&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), in_transaction_(other.in_transaction_) {}

connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) PQfinish(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    in_transaction_ = other.in_transaction_;
  }
  return *this;
}

connection::~connection() {
  if (handle_ != nullptr) PQfinish(handle_);
}

bool connection::broken() const noexcept { return PQstatus(handle_) != CONNECTION_OK; }

int connection::backend_pid() const noexcept { return PQbackendPID(handle_); }

error connection::connection_error(std::string_view operation) const {
  error failure = make_error(error_class::store,
                             fmt::format("PostgreSQL {} failed: {}", operation,
                                         one_line(PQerrorMessage(handle_))));
  failure.sqlstate = connection_failure_sqlstate;
  return failure;
}

result<void> connection::reconnect(std::string_view operation) {
  log::warn("store.postgres", "connection lost, reconnecting",
            {{"operation", std::string(operation)}});
  PQreset(handle_);
  if (broken()) return connection_error("reconnect");
  return {};
}

template <class Run>
auto connection::with_reconnect(std::string_view operation, Run run) -> decltype(run()) {
  if (!in_transaction_ && broken()) {
    if (auto reset = reconnect(operation); !reset) return std::move(reset).err();
  }
  auto outcome = run();
  // Only a failure that broke the connection outside a transaction is retried: the statement
  // did not run, or (for a statement whose reply was lost) ran in its own implicit transaction.
  if (!outcome && !in_transaction_ && broken()) {
    if (auto reset = reconnect(operation); !reset) return std::move(reset).err();
    outcome = run();
  }
  return outcome;
}

namespace {

// Builds a store error from a failed result; `handle` may be null (out of memory, lost link).
error statement_error(PGconn* conn, const PGresult* handle, std::string_view operation) {
  if (handle == nullptr) {
    error failure = make_error(error_class::store, fmt::format("PostgreSQL {} failed: {}",
                                                               operation,
                                                               one_line(PQerrorMessage(conn))));
    failure.sqlstate = connection_failure_sqlstate;
    return failure;
  }
  std::string message = field(handle, PG_DIAG_MESSAGE_PRIMARY);
  if (message.empty()) message = one_line(PQresultErrorMessage(handle));
  std::string detail = field(handle, PG_DIAG_MESSAGE_DETAIL);
  if (!detail.empty()) message += fmt::format(" ({})", one_line(detail));

  error failure = make_error(error_class::store,
                             fmt::format("PostgreSQL {} failed: {}", operation, message));
  failure.sqlstate = field(handle, PG_DIAG_SQLSTATE);
  if (failure.sqlstate.empty() && PQstatus(conn) != CONNECTION_OK) {
    failure.sqlstate = connection_failure_sqlstate;
  }
  return failure;
}

bool succeeded(const PGresult* handle) {
  if (handle == nullptr) return false;
  auto status = PQresultStatus(handle);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

// The first words of a statement, for error messages ("SELECT acquire_lease").
std::string_view statement_name(std::string_view sql) {
  auto start = sql.find_first_not_of(" \n");
  if (start == std::string_view::npos) return sql;
  sql.remove_prefix(start);
  auto end = sql.find('(');
  return sql.substr(0, std::min({end, sql.size(), std::size_t{48}}));
}

}  // namespace

result<rows> connection::query(std::string_view sql, const parameters& values) {
  std::string text(sql);
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& value : values) pointers.push_back(value ? value->c_str() : nullptr);

  return with_reconnect(statement_name(sql), [&]() -> result<rows> {
    rows answer(PQexecParams(handle_, text.c_str(), static_cast<int>(pointers.size()), nullptr,
                             pointers.data(), nullptr, nullptr, 0));
    if (!succeeded(answer.handle_.get())) {
      return statement_error(handle_, answer.handle_.get(), statement_name(sql));
    }
    return answer;
  });
}

result<void> connection::execute(std::string_view sql) {
  std::string text(sql);
  return with_reconnect(statement_name(sql), [&]() -> result<void> {
    rows answer(PQexec(handle_, text.c_str()));
    if (!succeeded(answer.handle_.get())) {
      return statement_error(handle_, answer.handle_.get(), statement_name(sql));
    }
    return {};
  });
}

result<void> connection::copy_in(std::string_view copy_sql, std::string_view data) {
  std::string text(copy_sql);
  rows started(PQexec(handle_, text.c_str()));
  if (!started.handle_ || PQresultStatus(started.handle_.get()) != PGRES_COPY_IN) {
    return statement_error(handle_, started.handle_.get(), "COPY");
  }

  // PQputCopyData takes an int length, so large pages go in chunks.
  constexpr std::size_t chunk = 1 << 20;
  bool sent = true;
  for (std::size_t offset = 0; offset < data.size() && sent; offset += chunk) {
    auto size = std::min(chunk, data.size() - offset);
    sent = PQputCopyData(handle_, data.data() + offset, static_cast<int>(size)) == 1;
  }
  if (!sent || PQputCopyEnd(handle_, nullptr) != 1) return connection_error("COPY");

  std::optional<error> failure;
  while (PGresult* raw = PQgetResult(handle_)) {
    rows finished(raw);
    if (!failure && PQresultStatus(raw) != PGRES_COMMAND_OK) {
      failure = statement_error(handle_, raw, "COPY");
    }
  }
  if (failure) return std::move(*failure);
  return {};
}

result<void> connection::begin() {
  if (auto begun = execute("BEGIN"); !begun) return begun;
  in_transaction_ = true;
  return {};
}

result<rows> connection::begin_with(std::string_view statements, std::string_view operation) {
  std::string text = fmt::format("BEGIN; {}", statements);
  // As in begin(), a connection found broken is reset and the script sent again: a transaction
  // that began on the lost connection ended with it.
  auto outcome = with_reconnect(operation, [&]() -> result<rows> {
    rows answer(PQexec(handle_, text.c_str()));
    if (!succeeded(answer.handle_.get())) {
      return statement_error(handle_, answer.handle_.get(), operation);
    }
    return answer;
  });
  // Even on failure the server may have begun the transaction, so rollback() must end it.
  in_transaction_ = true;
  return outcome;
}

result<void> connection::commit_with(std::string_view statements, std::string_view operation) {
  std::string text = fmt::format("{}; COMMIT", statements);
  rows answer(PQexec(handle_, text.c_str()));
  if (!succeeded(answer.handle_.get())) {
    return statement_error(handle_, answer.handle_.get(), operation);
  }
  in_transaction_ = false;
  return {};
}

result<std::string> connection::literal(const std::optional<std::string>& value) const {
  if (!value) return std::string("NULL");
  char* quoted = PQescapeLiteral(handle_, value->data(), value->size());
  if (quoted == nullptr) return connection_error("quoting a value");
  std::string text(quoted);
  PQfreemem(quoted);
  return text;
}

result<void> connection::commit() {
  auto committed = execute("COMMIT");
  in_transaction_ = false;
  return committed;
}

void connection::rollback() noexcept {
  if (in_transaction_ && !broken()) {
    rows ignored(PQexec(handle_, "ROLLBACK"));
  }
  in_transaction_ = false;
}

}  // namespace postgres

namespace {

using postgres::parameters;

std::string text_of(std::int64_t value) { return std::to_string(value); }

std::int64_t epoch_seconds(timestamp at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

// COPY text format: backslash escapes for the characters that delimit fields and rows.
void append_copy_text(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out += c;
    }
  }
}

void append_copy_field(std::string& out, const std::optional<std::string>& value) {
  if (value) {
    append_copy_text(out, *value);
  } else {
    out += "\\N";
  }
}

// A text[] literal: every element double-quoted, with backslash and quote escaped inside.
std::string array_literal(const std::vector<std::string>& items) {
  std::string literal = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) literal += ',';
    literal += '"';
    for (char c : items[i]) {
      if (c == '\\' || c == '"') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return literal;
}

std::optional<std::string> optional_time_text(const std::optional<timestamp>& at) {
  if (!at) return std::nullopt;
  return format_timestamp(*at);
}

constexpr std::string_view unique_violation_sqlstate = "23505";

constexpr std::string_view copy_staged_sql =
    "COPY staged_postings (ord, id, ciphertext, link, title, description, skills, job_type, "
    "hourly_min, hourly_max, fixed_budget, currency, contractor_tier, duration_label, workload, "
    "client_country, published_at, created_at, source, content_hash) FROM STDIN";

// The same columns straight into upwork_jobs, plus what the upsert sets for a new row.
const std::string copy_new_sql =
    fmt::format("COPY upwork_jobs ({}) FROM STDIN", postgres::new_posting_columns);

// Appends one COPY text row: the posting's columns in the order of the two COPY statements
// above, with `before` and `after` around them.
void append_copy_row(std::string& out, const upwork::posting& p,
                     std::initializer_list<std::string_view> before,
                     std::initializer_list<std::string_view> after) {
  const std::optional<std::string> fields[] = {
      p.id, p.ciphertext, p.link, p.title, p.description, array_literal(p.skills), p.job_type,
      p.hourly_min, p.hourly_max, p.fixed_budget, p.currency, p.contractor_tier,
      p.duration_label, p.workload, p.client_country, format_timestamp(p.published_at),
      optional_time_text(p.created_at), p.source, p.content_hash};
  for (auto value : before) {
    append_copy_text(out, value);
    out += '\t';
  }
  bool first = true;
  for (const auto& value : fields) {
    if (!first) out += '\t';
    first = false;
    append_copy_field(out, value);
  }
  for (auto value : after) {
    out += '\t';
    append_copy_text(out, value);
  }
  out += '\n';
}

// Renders the postings as staged_postings rows, numbered in page order.
std::string staged_rows(const std::vector<upwork::posting>& postings) {
  std::string out;
  out.reserve(postings.size() * 2048);
  int ord = 0;
  for (const auto& p : postings) append_copy_row(out, p, {std::to_string(++ord)}, {});
  return out;
}

// The postings of a page with one entry per id, the last one winning, as the upsert does.
std::vector<const upwork::posting*> distinct_postings(const std::vector<upwork::posting>& page) {
  std::unordered_map<std::string_view, std::size_t> last;
  for (std::size_t i = 0; i < page.size(); ++i) last[page[i].id] = i;
  std::vector<const upwork::posting*> distinct;
  distinct.reserve(last.size());
  for (std::size_t i = 0; i < page.size(); ++i) {
    if (last[page[i].id] == i) distinct.push_back(&page[i]);
  }
  return distinct;
}

result<nlohmann::json> json_cell(const postgres::rows& answer) {
  if (answer.size() != 1 || answer.is_null(0, 0)) return nlohmann::json(nullptr);
  auto parsed = nlohmann::json::parse(answer.text(0, 0), nullptr, false);
  if (parsed.is_discarded()) {
    return make_error(error_class::store, "PostgreSQL returned invalid JSON");
  }
  return parsed;
}

class postgres_store final : public job_store {
 public:
  explicit postgres_store(postgres::connection db) : db_(std::move(db)) {}

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
  result<nlohmann::json> query_json(std::string_view sql, const parameters& values);
  result<upsert_counts> write_page_in_transaction(const page_write& page);
  result<bool> begin_and_check(const std::vector<const upwork::posting*>& page);
  result<std::optional<upsert_counts>> copy_new(const std::vector<const upwork::posting*>& distinct,
                                                const page_write& page);
  result<upsert_counts> upsert_through_staging(const page_write& page);
  result<std::string> record_page_call(const parameters& arguments);
  result<void> apply_migrations();

  postgres::connection db_;
};

result<nlohmann::json> postgres_store::query_json(std::string_view sql,
                                                  const parameters& values) {
  auto answer = db_.query(sql, values);
  if (!answer) return std::move(answer).err();
  return json_cell(*answer);
}

result<void> postgres_store::migrate() {
  if (auto begun = db_.begin(); !begun) return begun;
  auto applied = apply_migrations();
  if (!applied) {
    db_.rollback();
    return applied;
  }
  return db_.commit();
}

result<void> postgres_store::apply_migrations() {
  // One migrator at a time per database; the lock ends with the transaction.
  if (auto locked = db_.query("SELECT pg_advisory_xact_lock(7426110391)"); !locked) {
    return std::move(locked).err();
  }
  if (auto made = db_.execute(postgres::migrations_table_sql()); !made) return made;

  auto done = db_.query("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!done) return std::move(done).err();
  int current = std::stoi(std::string(done->text(0, 0)));
  if (current > postgres::latest_schema_version()) {
    return make_error(error_class::store,
                      fmt::format("database schema version {} is newer than this build "
                                  "(version {}); upgrade job-fetcher",
                                  current, postgres::latest_schema_version()));
  }

  for (const auto& step : postgres::migrations()) {
    if (step.version <= current) continue;
    if (auto ran = db_.execute(step.sql); !ran) return ran;
    auto recorded = db_.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                              {std::to_string(step.version), std::string(step.name)});
    if (!recorded) return std::move(recorded).err();
  }
  return {};
}

result<schema_versions> postgres_store::schema_version() {
  schema_versions versions;
  versions.latest = postgres::latest_schema_version();
  auto table = db_.query("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!table) return std::move(table).err();
  if (table->text(0, 0) != "t") return versions;
  auto applied = db_.query("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!applied) return std::move(applied).err();
  versions.current = std::stoi(std::string(applied->text(0, 0)));
  return versions;
}

result<bool> postgres_store::acquire_lease(const std::string& feed, const std::string& owner,
                                           timestamp now, timestamp until) {
  auto answer = db_.query("SELECT acquire_lease($1, $2, $3, $4)",
                          {feed, owner, format_timestamp(now), format_timestamp(until)});
  if (!answer) return std::move(answer).err();
  return answer->text(0, 0) == "t";
}

result<void> postgres_store::release_lease(const std::string& feed, const std::string& owner) {
  auto answer = db_.query("SELECT release_lease($1, $2)", {feed, owner});
  if (!answer) return std::move(answer).err();
  return {};
}

result<std::optional<watermark>> postgres_store::load_watermark(const std::string& feed) {
  auto value = query_json("SELECT load_watermark($1)::text", {feed});
  if (!value) return std::move(value).err();
  return postgres::watermark_from_json(*value);
}

result<std::int64_t> postgres_store::begin_run(const std::string& feed, timestamp started_at) {
  auto answer = db_.query("SELECT begin_run($1, $2)", {feed, format_timestamp(started_at)});
  if (!answer) return std::move(answer).err();
  return std::stoll(std::string(answer->text(0, 0)));
}

// A page takes three round trips when its postings are all new: BEGIN with the check whether any
// id is stored, the COPY, and record_page() with COMMIT. Round trips matter when the database is
// across a network.
result<upsert_counts> postgres_store::write_page(const page_write& page) {
  auto counts = write_page_in_transaction(page);
  if (!counts) db_.rollback();
  return counts;
}

result<upsert_counts> postgres_store::write_page_in_transaction(const page_write& page) {
  upsert_counts counts;
  if (page.postings.empty()) {
    if (auto begun = db_.begin(); !begun) return std::move(begun).err();
  } else {
    auto distinct = distinct_postings(page.postings);
    auto stored = begin_and_check(distinct);
    if (!stored) return std::move(stored).err();
    std::optional<upsert_counts> copied;
    if (!*stored) {
      auto attempt = copy_new(distinct, page);
      if (!attempt) return std::move(attempt).err();
      copied = *attempt;
    }
    if (copied) {
      counts = *copied;
    } else {
      auto upserted = upsert_through_staging(page);
      if (!upserted) return upserted;
      counts = *upserted;
    }
  }

  std::optional<std::string> new_watermark;
  if (page.new_watermark) {
    new_watermark = nlohmann::json{{"at", format_timestamp(page.new_watermark->at)},
                                   {"ids", page.new_watermark->ids}}
                        .dump();
  }
  auto call = record_page_call(
      {page.feed, text_of(page.run_id), new_watermark, text_of(page.api_requests),
       text_of(page.pages), text_of(counts.inserted + counts.updated + counts.unchanged),
       text_of(counts.inserted), text_of(counts.updated), format_timestamp(page.seen_at)});
  if (!call) return std::move(call).err();
  if (auto committed = db_.commit_with(*call, "record_page"); !committed) {
    return std::move(committed).err();
  }
  return counts;
}

// Begins the page's transaction, makes sure the staging table exists, sets the savepoint for
// copy_new, and returns whether any of the page's ids is stored already. The table is created
// before the savepoint, because a rollback to the savepoint would drop it again.
result<bool> postgres_store::begin_and_check(const std::vector<const upwork::posting*>& page) {
  std::vector<std::string> ids;
  ids.reserve(page.size());
  for (const auto* p : page) ids.push_back(p->id);
  auto id_array = db_.literal(array_literal(ids));
  if (!id_array) return std::move(id_array).err();
  auto known = db_.begin_with(
      fmt::format("SELECT create_staged_postings(); SAVEPOINT copy_new; "
                  "SELECT EXISTS (SELECT 1 FROM upwork_jobs WHERE id = ANY ({}::text[]))",
                  *id_array),
      "page check");
  if (!known) return std::move(known).err();
  return known->text(0, 0) == "t";
}

// Copies a page whose postings are all new (a first load, a backfill, most pages of a run)
// straight into upwork_jobs, which costs what a plain COPY costs. Staging the rows and upserting
// them costs about twice as much. Returns nothing when the page must be upserted instead.
result<std::optional<upsert_counts>> postgres_store::copy_new(
    const std::vector<const upwork::posting*>& distinct, const page_write& page) {
  auto copied =
      db_.copy_in(copy_new_sql, postgres::new_posting_rows(distinct, page.feed, page.seen_at));
  if (!copied) {
    // Another feed's run inserted one of these ids after the check. The savepoint lets the page
    // fall back to the upsert instead of failing.
    if (copied.err().sqlstate != unique_violation_sqlstate) return std::move(copied).err();
    auto undone = db_.execute("ROLLBACK TO SAVEPOINT copy_new");
    if (!undone) return std::move(undone).err();
    return std::optional<upsert_counts>{};
  }
  upsert_counts counts;
  counts.inserted = static_cast<std::int64_t>(distinct.size());
  return std::optional<upsert_counts>{counts};
}

result<upsert_counts> postgres_store::upsert_through_staging(const page_write& page) {
  if (auto copied = db_.copy_in(copy_staged_sql, staged_rows(page.postings)); !copied) {
    return std::move(copied).err();
  }
  auto value = query_json("SELECT upsert_staged_postings($1, $2)::text",
                          {page.feed, format_timestamp(page.seen_at)});
  if (!value) return std::move(value).err();
  return postgres::upsert_counts_from_json(*value);
}

// Returns "SELECT record_page(...)" with the arguments quoted as literals, for commit_with().
result<std::string> postgres_store::record_page_call(const parameters& arguments) {
  std::string call = "SELECT record_page(";
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    auto quoted = db_.literal(arguments[i]);
    if (!quoted) return std::move(quoted).err();
    if (i > 0) call += ", ";
    call += *quoted;
  }
  return call + ")";
}

result<void> postgres_store::finish_run(const run_record& run) {
  auto answer = db_.query("SELECT finish_run($1::jsonb)",
                          {postgres::run_record_to_json(run).dump()});
  if (!answer) return std::move(answer).err();
  if (answer->text(0, 0) != "t") {
    return make_error(error_class::store,
                      fmt::format("fetch_runs has no run with id {}", run.id));
  }
  return {};
}

result<std::vector<run_record>> postgres_store::recent_runs(
    const std::optional<std::string>& feed, int limit) {
  auto value = query_json("SELECT recent_runs($1, $2)::text", {feed, std::to_string(limit)});
  if (!value) return std::move(value).err();
  std::vector<run_record> runs;
  for (const auto& row : *value) {
    auto run = postgres::run_record_from_json(row);
    if (!run) return std::move(run).err();
    runs.push_back(std::move(*run));
  }
  return runs;
}

result<std::optional<timestamp>> postgres_store::newest_published_at() {
  auto answer = db_.query("SELECT newest_published_at()");
  if (!answer) return std::move(answer).err();
  if (answer->is_null(0, 0)) return std::optional<timestamp>{};
  auto parsed = parse_timestamp(answer->text(0, 0));
  if (!parsed) return make_error(error_class::store, "PostgreSQL returned an invalid timestamp");
  return std::optional<timestamp>{*parsed};
}

result<std::optional<cached_token>> postgres_store::read_token(const std::string& name,
                                                               timestamp now) {
  auto value = query_json("SELECT read_token($1, $2)::text",
                          {name, text_of(epoch_seconds(now))});
  if (!value) return std::move(value).err();
  return postgres::cached_token_from_json(*value);
}

result<void> postgres_store::write_token(const cached_token& token) {
  auto answer = db_.query("SELECT write_token($1, $2, $3, $4)",
                          {token.name, token.value.reveal(), text_of(token.expires),
                           format_timestamp(token.created_at)});
  if (!answer) {
    // The server's detail text can quote the failing row, token value included.
    error failure = std::move(answer).err();
    failure.message = fmt::format("PostgreSQL write_token failed for token '{}'", token.name);
    return failure;
  }
  return {};
}

result<std::vector<stored_posting>> postgres_store::read_postings(
    int limit, const std::optional<std::string>& feed) {
  auto value = query_json("SELECT read_postings($1, $2)::text", {std::to_string(limit), feed});
  if (!value) return std::move(value).err();
  std::vector<stored_posting> postings;
  for (const auto& row : *value) {
    auto stored = postgres::stored_posting_from_json(row);
    if (!stored) return std::move(stored).err();
    postings.push_back(std::move(*stored));
  }
  return postings;
}

result<std::int64_t> postgres_store::prune(const std::string& feed, timestamp older_than) {
  auto answer = db_.query("SELECT prune_feed($1, $2)", {feed, format_timestamp(older_than)});
  if (!answer) return std::move(answer).err();
  return std::stoll(std::string(answer->text(0, 0)));
}

}  // namespace

namespace postgres {

const std::string_view new_posting_columns =
    "id, ciphertext, link, title, description, skills, job_type, hourly_min, hourly_max, "
    "fixed_budget, currency, contractor_tier, duration_label, workload, client_country, "
    "published_at, created_at, source, content_hash, feeds, first_seen_at, revision";

std::string new_posting_rows(const std::vector<const upwork::posting*>& postings,
                             const std::string& feed, timestamp seen_at) {
  std::string out;
  out.reserve(postings.size() * 2048);
  std::string feeds = array_literal({feed});
  std::string seen = format_timestamp(seen_at);
  for (const auto* p : postings) append_copy_row(out, *p, {}, {feeds, seen, "1"});
  return out;
}

}  // namespace postgres

result<std::unique_ptr<job_store>> make_postgres_store(const std::string& conninfo) {
  auto db = postgres::connection::open(conninfo);
  if (!db) return std::move(db).err();
  return std::unique_ptr<job_store>(std::make_unique<postgres_store>(std::move(*db)));
}

}  // namespace job_fetcher::store
