#include "store/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace job_fetcher::store::sqlite {

namespace {

// Long enough for another process to finish a page transaction, short enough that a stuck
// writer surfaces as a store error within one Lambda invocation.
constexpr int busy_timeout_ms = 5000;

error make_store_error(std::string message) {
  return make_error(error_class::store, std::move(message));
}

// Switching a new database file to WAL needs an exclusive lock. When two processes open the same
// new file at once (two cold Lambda copies of one event), SQLite reports SQLITE_BUSY at once
// instead of calling the busy handler, because waiting could deadlock. Retry it ourselves.
int enable_wal(sqlite3* db) {
  using clock = std::chrono::steady_clock;
  auto give_up = clock::now() + std::chrono::milliseconds(busy_timeout_ms);
  auto pause = std::chrono::milliseconds(2);
  while (true) {
    int code = sqlite3_exec(db, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr);
    if ((code & 0xff) != SQLITE_BUSY || clock::now() >= give_up) return code;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace

// --- connection ---

result<connection> connection::open(const std::string& path, bool existing_only) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (!existing_only) flags |= SQLITE_OPEN_CREATE;
  int code = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  connection db(raw, path);  // owns the handle even when opening failed
  if (code != SQLITE_OK) {
    return db.last_error("open");
  }
  sqlite3_extended_result_codes(raw, 1);
  // Set first, so the pragmas below also wait for another process that is writing.
  sqlite3_busy_timeout(raw, busy_timeout_ms);

  // WAL lets readers run while a page is written. NORMAL sync does not corrupt a WAL database
  // on power loss but may lose the last commits, which the next run repeats.
  if (int wal = existing_only ? SQLITE_OK : enable_wal(raw); wal != SQLITE_OK) {
    if ((wal & 0xff) == SQLITE_NOTADB) {
      return make_error(error_class::config,
                        fmt::format("{} is not a SQLite database; set the store URL to "
                                    "sqlite:PATH naming a job-fetcher database or a new file",
                                    path));
    }
    return db.last_error("switch to WAL mode");
  }
  auto configured = db.execute("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
  if (!configured) return std::move(configured).err();
  return db;
}

connection::connection(connection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

connection::~connection() { sqlite3_close_v2(db_); }

result<void> connection::execute(const char* sql) {
  char* message = nullptr;
  int code = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (code == SQLITE_OK) return {};

  std::string text = message != nullptr ? message : sqlite3_errstr(code);
  sqlite3_free(message);
  return make_store_error(fmt::format("SQLite statement failed on {}: {}", path_, text));
}

error connection::last_error(std::string_view operation) const {
  const char* text = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
  return make_store_error(fmt::format("SQLite {} failed on {}: {}", operation, path_, text));
}

// --- statement ---

result<statement> statement::prepare(connection& db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int code = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (code != SQLITE_OK) {
    sqlite3_finalize(raw);
    return db.last_error("prepare");
  }
  return statement(raw, &db);
}

statement::statement(statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)),
      db_(other.db_),
      bind_error_(std::move(other.bind_error_)) {}

statement& statement::operator=(statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = other.db_;
    bind_error_ = std::move(other.bind_error_);
  }
  return *this;
}

statement::~statement() { sqlite3_finalize(stmt_); }

statement& statement::start() {
  reset();
  sqlite3_clear_bindings(stmt_);
  bind_error_.reset();
  return *this;
}

void statement::reset() noexcept { sqlite3_reset(stmt_); }

void statement::keep_bind_error(int code, int index) {
  if (code == SQLITE_OK || bind_error_) return;
  bind_error_ = make_store_error(fmt::format("SQLite bind of parameter {} failed on {}: {}", index,
                                             db_->path(), sqlite3_errstr(code)));
}

statement& statement::bind(int index, std::string_view text) {
  int code =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  keep_bind_error(code, index);
  return *this;
}

statement& statement::bind(int index, std::int64_t value) {
  keep_bind_error(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

statement& statement::bind(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bind_null(index);
}

statement& statement::bind_null(int index) {
  keep_bind_error(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

result<bool> statement::step() {
  if (bind_error_) {
    reset();
    return *bind_error_;
  }
  int code = sqlite3_step(stmt_);
  if (code == SQLITE_ROW) return true;
  if (code == SQLITE_DONE) {
    reset();
    return false;
  }
  // The connection's message describes the failure (a constraint name, "database is locked").
  error failure = db_->last_error("step");
  reset();
  return failure;
}

bool statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::string statement::text(int column) const {
  const auto* bytes = sqlite3_column_text(stmt_, column);
  if (bytes == nullptr) return {};
  auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
  return std::string(reinterpret_cast<const char*>(bytes), size);
}

std::optional<std::string> statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

std::int64_t statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string statement::column_name(int column) const {
  const char* name = sqlite3_column_name(stmt_, column);
  return name != nullptr ? name : "";
}

int statement::column_count() const { return sqlite3_column_count(stmt_); }

// --- transaction ---

result<transaction> transaction::begin_immediate(connection& db) {
  // IMMEDIATE takes the write lock up front, so two writers wait on the busy timeout instead of
  // failing with SQLITE_BUSY when a read transaction tries to upgrade.
  auto begun = db.execute("BEGIN IMMEDIATE");
  if (!begun) return std::move(begun).err();
  return transaction(&db);
}

transaction::~transaction() {
  if (db_ != nullptr) {
    sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

result<void> transaction::commit() {
  auto committed = db_->execute("COMMIT");
  if (!committed) return committed;  // the destructor rolls back
  db_ = nullptr;
  return {};
}

}  // namespace job_fetcher::store::sqlite
