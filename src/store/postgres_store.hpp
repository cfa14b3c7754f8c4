// Internal to src/store and its tests: the libpq connection used by the PostgreSQL store and by the
// PostgREST test double. Code outside src/store opens stores through open_store() or factories.hpp.
// No libpq type appears here: the handles are forward-declared structs owned by one class each.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "upwork/posting.hpp"

struct pg_conn;
struct pg_result;

namespace job_fetcher::store::postgres {

// Statement parameters in text form; nullopt is SQL NULL.
using parameters = std::vector<std::optional<std::string>>;

// The rows of one statement, as text. Owns the libpq result. Move-only.
class rows {
 public:
  rows() = default;
  rows(rows&&) noexcept = default;
  rows& operator=(rows&&) noexcept = default;
  rows(const rows&) = delete;
  rows& operator=(const rows&) = delete;
  ~rows();

  int size() const noexcept;
  bool is_null(int row, int column) const noexcept;
  // Valid while this object lives.
  std::string_view text(int row, int column) const noexcept;

 private:
  friend class connection;
  struct release {
    void operator()(pg_result* handle) const noexcept;
  };
  explicit rows(pg_result* handle) : handle_(handle) {}

  std::unique_ptr<pg_result, release> handle_;
};

// One libpq connection, closed on destruction. Move-only; one thread at a time.
//
// A statement run outside a transaction on a connection that turns out to be broken (server
// restarted, backend terminated, network dropped) is retried once after a reconnect. Inside a
// transaction nothing is retried: the statement fails with a store error, because the work done
// before it in the transaction is lost with the connection.
class connection {
 public:
  // Connects with a libpq connection string or URI. An unreachable server or a rejected login is
  // a store error; the message never holds the password.
  static result<connection> open(const std::string& conninfo);

  connection(connection&& other) noexcept;
  connection& operator=(connection&& other) noexcept;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  // Runs one statement with text parameters ($1, $2, ...) and returns its rows.
  result<rows> query(std::string_view sql, const parameters& values = {});

  // Runs statements without parameters and discards any rows.
  result<void> execute(std::string_view sql);

  // Runs `copy_sql` (a COPY ... FROM STDIN in text format) and sends `data` as its input.
  result<void> copy_in(std::string_view copy_sql, std::string_view data);

  // Transaction control; begin() may reconnect, because nothing is lost before it.
  result<void> begin();
  result<void> commit();

  // Begins a transaction and runs `statements` (no parameters; build values with literal()) in
  // the same round trip. Returns the rows of the last statement. `operation` names it in errors.
  result<rows> begin_with(std::string_view statements, std::string_view operation);
  // Runs `statements`, then commits, in one round trip. On failure the transaction stays open
  // for rollback().
  result<void> commit_with(std::string_view statements, std::string_view operation);

  // Quotes a value as an SQL string literal (libpq's PQescapeLiteral), or NULL for nullopt.
  result<std::string> literal(const std::optional<std::string>& value) const;
  // Rolls back when the connection is still usable; safe to call after any failure.
  void rollback() noexcept;
  bool in_transaction() const noexcept { return in_transaction_; }

  // The server process id of this connection (pg_backend_pid()), for tests and logs.
  int backend_pid() const noexcept;

 private:
  explicit connection(pg_conn* handle) : handle_(handle) {}

  template <class Run>
  auto with_reconnect(std::string_view operation, Run run) -> decltype(run());
  bool broken() const noexcept;
  result<void> reconnect(std::string_view operation);
  error connection_error(std::string_view operation) const;

  pg_conn* handle_ = nullptr;
  bool in_transaction_ = false;
};

// The upwork_jobs columns that a COPY of new postings fills, in the order of new_posting_rows.
extern const std::string_view new_posting_columns;

// Renders postings as new upwork_jobs rows in COPY text format: first seen at `seen_at` by
// `feed`, revision 1.
std::string new_posting_rows(const std::vector<const upwork::posting*>& postings,
                             const std::string& feed, timestamp seen_at);

}  // namespace job_fetcher::store::postgres
