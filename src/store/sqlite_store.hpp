// Internal to src/store: RAII owners of the SQLite handles used by the SQLite store and its schema
// migrations. Code outside src/store opens stores through open_store() or factories.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace job_fetcher::store::sqlite {

// One open database connection, closed on destruction. Move-only.
class connection {
 public:
  // Opens or creates the database file and sets WAL mode, a busy timeout and foreign keys. With
  // `existing_only`, a missing file is not created and the journal mode is left as it is, so
  // that a file of another application is not changed.
  static result<connection> open(const std::string& path, bool existing_only = false);

  connection(connection&& other) noexcept;
  connection& operator=(connection&& other) noexcept;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  // Runs one or more SQL statements that return no rows needed by the caller.
  result<void> execute(const char* sql);

  // Builds a store error from the connection's last SQLite error, prefixed by `operation`.
  error last_error(std::string_view operation) const;

  sqlite3* handle() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }

 private:
  connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_ = nullptr;
  std::string path_;
};

// A prepared statement, finalized on destruction. Move-only. Bind errors are kept and returned by
// the next step(), so a sequence of binds needs no checks of its own.
class statement {
 public:
  // Prepares `sql` for repeated use on `db`; the connection must outlive the statement.
  static result<statement> prepare(connection& db, std::string_view sql);

  statement(statement&& other) noexcept;
  statement& operator=(statement&& other) noexcept;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement();

  // Resets the statement and clears its bindings before a new use.
  statement& start();
  // Resets the statement so that it holds no read or write lock between uses.
  void reset() noexcept;

  // Parameters are numbered from 1. Text is copied into SQLite.
  statement& bind(int index, std::string_view text);
  statement& bind(int index, const std::string& text) {
    return bind(index, std::string_view(text));
  }
  statement& bind(int index, std::int64_t value);
  statement& bind(int index, const std::optional<std::string>& text);
  statement& bind_null(int index);

  // Advances to the next row. Returns true when a row is available and false when the statement
  // is done (it is then reset).
  result<bool> step();

  // Columns are numbered from 0; valid only while step() last returned true.
  bool is_null(int column) const;
  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;
  std::int64_t int64(int column) const;
  std::string column_name(int column) const;
  int column_count() const;

 private:
  statement(sqlite3_stmt* stmt, connection* db) : stmt_(stmt), db_(db) {}
  void keep_bind_error(int code, int index);

  sqlite3_stmt* stmt_ = nullptr;
  connection* db_ = nullptr;
  std::optional<error> bind_error_;
};

// Resets a statement when the scope ends, so a cached statement never keeps a read transaction
// open between calls (in WAL mode that would pin an old snapshot).
class statement_scope {
 public:
  explicit statement_scope(statement& stmt) : stmt_(stmt) { stmt_.start(); }
  statement_scope(const statement_scope&) = delete;
  statement_scope& operator=(const statement_scope&) = delete;
  ~statement_scope() { stmt_.reset(); }

 private:
  statement& stmt_;
};

// A write transaction started with BEGIN IMMEDIATE, rolled back on destruction unless committed.
class transaction {
 public:
  static result<transaction> begin_immediate(connection& db);

  transaction(transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  transaction& operator=(transaction&&) = delete;
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction();

  result<void> commit();

 private:
  explicit transaction(connection* db) : db_(db) {}

  connection* db_ = nullptr;  // null once committed or rolled back
};

// Applies the versioned schema migrations that `db` has not seen yet, in one transaction, and
// records each applied version in schema_migrations. Safe to call any number of times.
result<void> migrate_schema(connection& db);

// The newest schema version this build knows.
int latest_schema_version();

}  // namespace job_fetcher::store::sqlite
