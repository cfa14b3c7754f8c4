#include "doubles/postgrest/postgrest_double.hpp"

#include <httplib.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "store/postgres_store.hpp"

namespace job_fetcher::testing {

namespace {

using json = nlohmann::json;
using store::postgres::connection;

struct fault {
  int status = 0;  // 0: no error, only the delay
  std::chrono::milliseconds delay{0};
};

// A PostgREST error: HTTP status and the body fields.
struct api_error {
  int status = 400;
  std::string code;
  std::string message;
  json details = nullptr;
  json hint = nullptr;
};

// PostgREST 12's mapping from SQLSTATE to HTTP status.
int status_for_sqlstate(const std::string& code) {
  auto starts = [&](std::string_view prefix) { return code.rfind(prefix, 0) == 0; };
  if (code == "23503" || code == "23505") return 409;
  if (code == "42P01" || code == "42883") return 404;
  if (code == "25006") return 405;
  if (code == "42501") return 403;
  if (code == "53400") return 500;
  if (starts("08") || starts("53")) return 503;
  if (starts("0L") || starts("0P") || starts("28")) return 403;
  if (code == "P0001") return 400;
  for (std::string_view prefix : {"09", "25", "2D", "38", "39", "3B", "40", "54", "55", "57",
                                  "58", "F0", "HV", "P0", "XX", "42P17"}) {
    if (starts(prefix)) return 500;
  }
  return 400;
}

api_error database_error(const error& failure) {
  api_error mapped;
  mapped.code = failure.sqlstate;
  mapped.status = status_for_sqlstate(failure.sqlstate);
  // The store's message reads "PostgreSQL <statement> failed: <server message>".
  auto colon = failure.message.find("failed: ");
  mapped.message =
      colon == std::string::npos ? failure.message : failure.message.substr(colon + 8);
  return mapped;
}

std::string quote_identifier(std::string_view name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// Connections to the database, reused across requests.
class connection_pool {
 public:
  explicit connection_pool(std::string conninfo) : conninfo_(std::move(conninfo)) {}

  std::unique_ptr<connection> acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto db = std::move(idle_.back());
        idle_.pop_back();
        return db;
      }
    }
    auto opened = connection::open(conninfo_);
    if (!opened) throw std::runtime_error(opened.err().describe());
    return std::make_unique<connection>(std::move(*opened));
  }

  void release(std::unique_ptr<connection> db) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(db));
  }

 private:
  std::string conninfo_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<connection>> idle_;
};

// Borrows a pooled connection for one request.
class borrowed {
 public:
  explicit borrowed(connection_pool& pool) : pool_(pool), db_(pool.acquire()) {}
  borrowed(const borrowed&) = delete;
  borrowed& operator=(const borrowed&) = delete;
  ~borrowed() { pool_.release(std::move(db_)); }
  connection& operator*() { return *db_; }
  connection* operator->() { return db_.get(); }

 private:
  connection_pool& pool_;
  std::unique_ptr<connection> db_;
};

}  // namespace

struct postgrest_double::state {
  std::string key;
  connection_pool pool;
  std::string schema;
  httplib::Server server;
  std::thread thread;
  int port = 0;

  mutable std::mutex mutex;
  std::deque<fault> faults;
  std::vector<std::string> log;

  state(std::string conninfo, std::string api_key)
      : key(std::move(api_key)), pool(std::move(conninfo)) {}

  void routes();
  std::optional<fault> take_fault();
  void record(const httplib::Request& request, int status);
  static void reply(httplib::Response& response, const api_error& failure);

  std::optional<api_error> check_key(const httplib::Request& request) const;
  bool answer_fault(httplib::Response& response);
  bool reject_key(const httplib::Request& request, httplib::Response& response) const;
  void call_function(const httplib::Request& request, httplib::Response& response);
  void insert_rows(const httplib::Request& request, httplib::Response& response);
  void select_rows(const httplib::Request& request, httplib::Response& response);

  std::optional<api_error> table_missing(connection& db, const std::string& table);
  std::vector<std::string> table_columns(connection& db, const std::string& table);
  std::vector<std::string> primary_key(connection& db, const std::string& table);
};

void postgrest_double::state::reply(httplib::Response& response, const api_error& failure) {
  response.status = failure.status;
  json body{{"code", failure.code},
            {"details", failure.details},
            {"hint", failure.hint},
            {"message", failure.message}};
  response.set_content(body.dump(), "application/json; charset=utf-8");
}

std::optional<fault> postgrest_double::state::take_fault() {
  std::lock_guard lock(mutex);
  if (faults.empty()) return std::nullopt;
  fault next = faults.front();
  faults.pop_front();
  return next;
}

void postgrest_double::state::record(const httplib::Request& request, int status) {
  std::lock_guard lock(mutex);
  log.push_back(fmt::format("{} {} {}", request.method, request.path, status));
}

std::optional<api_error> postgrest_double::state::check_key(
    const httplib::Request& request) const {
  std::string authorization = request.get_header_value("Authorization");
  std::string apikey = request.get_header_value("apikey");
  bool accepted = authorization.empty() ? apikey == key : authorization == "Bearer " + key;
  if (accepted) return std::nullopt;
  return api_error{401, "PGRST301", "JWSError JWSInvalidSignature", nullptr, nullptr};
}

std::optional<api_error> postgrest_double::state::table_missing(connection& db,
                                                                const std::string& table) {
  auto found = db.query(
      "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = current_schema() AND c.relname = $1 AND c.relkind IN ('r', 'v', 'p')",
      {table});
  if (found && found->size() == 1) return std::nullopt;
  return api_error{404, "PGRST205",
                   fmt::format("Could not find the table '{}.{}' in the schema cache", schema,
                               table),
                   nullptr, nullptr};
}

std::vector<std::string> postgrest_double::state::table_columns(connection& db,
                                                                const std::string& table) {
  std::vector<std::string> columns;
  auto found = db.query(
      "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = current_schema() AND c.relname = $1 AND a.attnum > 0 "
      "AND NOT a.attisdropped ORDER BY a.attnum",
      {table});
  if (!found) return columns;
  for (int i = 0; i < found->size(); ++i) columns.emplace_back(found->text(i, 0));
  return columns;
}

std::vector<std::string> postgrest_double::state::primary_key(connection& db,
                                                              const std::string& table) {
  std::vector<std::string> columns;
  auto found = db.query(
      "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey) "
      "WHERE n.nspname = current_schema() AND c.relname = $1 AND i.indisprimary "
      "ORDER BY a.attnum",
      {table});
  if (!found) return columns;
  for (int i = 0; i < found->size(); ++i) columns.emplace_back(found->text(i, 0));
  return columns;
}

void postgrest_double::state::call_function(const httplib::Request& request,
                                            httplib::Response& response) {
  std::string function = request.matches[1];
  auto arguments = json::parse(request.body.empty() ? "{}" : request.body, nullptr, false);
  if (arguments.is_discarded() || !arguments.is_object()) {
    reply(response, {400, "PGRST102", "Empty or invalid json", nullptr, nullptr});
    return;
  }
  std::set<std::string> given;
  for (const auto& item : arguments.items()) given.insert(item.key());

  borrowed db(pool);
  // Every overload of the function in the exposed schema, with its input argument names and types.
  auto overloads = db->query(
      "SELECT coalesce(array_to_json(p.proargnames[1:p.pronargs]), '[]')::text, "
      "       (SELECT coalesce(json_agg(format_type(t, NULL) ORDER BY o), '[]')::text "
      "        FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, o)) "
      "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
      "WHERE n.nspname = current_schema() AND p.proname = $1",
      {function});
  if (!overloads) {
    reply(response, database_error(overloads.err()));
    return;
  }
  for (int i = 0; i < overloads->size(); ++i) {
    auto names = json::parse(overloads->text(i, 0)).get<std::vector<std::string>>();
    auto types = json::parse(overloads->text(i, 1)).get<std::vector<std::string>>();
    if (std::set<std::string>(names.begin(), names.end()) != given) continue;

    std::string call, record;
    for (std::size_t k = 0; k < names.size(); ++k) {
      call += fmt::format("{}{} := r.{}", k ? ", " : "", quote_identifier(names[k]),
                          quote_identifier(names[k]));
      record += fmt::format("{}{} {}", k ? ", " : "", quote_identifier(names[k]), types[k]);
    }
    std::string sql =
        names.empty()
            ? fmt::format("SELECT to_jsonb({}())::text", quote_identifier(function))
            : fmt::format("SELECT to_jsonb({}({}))::text FROM json_to_record($1::json) AS r({})",
                          quote_identifier(function), call, record);
    auto answer = names.empty() ? db->query(sql) : db->query(sql, {arguments.dump()});
    if (!answer) {
      reply(response, database_error(answer.err()));
      return;
    }
    response.status = 200;
    response.set_content(answer->is_null(0, 0) ? "null" : std::string(answer->text(0, 0)),
                         "application/json; charset=utf-8");
    return;
  }

  std::string listed;
  for (const auto& name : given) listed += (listed.empty() ? "" : ", ") + name;
  reply(response,
        {404, "PGRST202",
         fmt::format("Could not find the function {}.{}({}) in the schema cache", schema,
                     function, listed),
         nullptr,
         "If a new function was created in the database with this name and parameters, try "
         "reloading the schema cache."});
}

void postgrest_double::state::insert_rows(const httplib::Request& request,
                                          httplib::Response& response) {
  std::string table = request.matches[1];
  borrowed db(pool);
  if (auto missing = table_missing(*db, table)) {
    reply(response, *missing);
    return;
  }

  auto body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !(body.is_object() || body.is_array())) {
    reply(response, {400, "PGRST102", "Empty or invalid json", nullptr, nullptr});
    return;
  }
  if (body.is_object()) body = json::array({body});

  // Without ?columns= every object must have the same keys as the first one.
  std::vector<std::string> columns;
  if (request.has_param("columns")) {
    columns = split(request.get_param_value("columns"), ',');
  } else if (!body.empty()) {
    std::set<std::string> first;
    for (const auto& item : body.front().items()) first.insert(item.key());
    for (const auto& row : body) {
      std::set<std::string> keys;
      if (row.is_object()) {
        for (const auto& item : row.items()) keys.insert(item.key());
      }
      if (!row.is_object() || keys != first) {
        reply(response, {400, "PGRST102", "All object keys must match", nullptr, nullptr});
        return;
      }
    }
    columns.assign(first.begin(), first.end());
  }

  auto known = table_columns(*db, table);
  for (const auto& column : columns) {
    if (std::find(known.begin(), known.end(), column) == known.end()) {
      reply(response, {400, "PGRST204",
                       fmt::format("Could not find the '{}' column of '{}' in the schema cache",
                                   column, table),
                       nullptr, nullptr});
      return;
    }
  }

  std::string prefer;
  for (std::size_t i = 0; i < request.get_header_value_count("Prefer"); ++i) {
    prefer += request.get_header_value("Prefer", i) + ",";
  }
  bool merge = prefer.find("resolution=merge-duplicates") != std::string::npos;
  bool ignore = prefer.find("resolution=ignore-duplicates") != std::string::npos;
  bool representation = prefer.find("return=representation") != std::string::npos;

  std::string column_list;
  for (const auto& column : columns) {
    column_list += (column_list.empty() ? "" : ", ") + quote_identifier(column);
  }
  std::string conflict;
  if (merge || ignore) {
    auto targets = request.has_param("on_conflict")
                       ? split(request.get_param_value("on_conflict"), ',')
                       : primary_key(*db, table);
    std::string target_list;
    for (const auto& column : targets) {
      target_list += (target_list.empty() ? "" : ", ") + quote_identifier(column);
    }
    std::string updates;
    for (const auto& column : columns) {
      updates += fmt::format("{}{} = EXCLUDED.{}", updates.empty() ? "" : ", ",
                             quote_identifier(column), quote_identifier(column));
    }
    conflict = ignore || updates.empty()
                   ? fmt::format(" ON CONFLICT ({}) DO NOTHING", target_list)
                   : fmt::format(" ON CONFLICT ({}) DO UPDATE SET {}", target_list, updates);
  }

  std::string sql = fmt::format(
      "WITH written AS (INSERT INTO {0} AS target ({1}) SELECT {1} FROM "
      "json_populate_recordset(NULL::{0}, $1::json){2} "
      "RETURNING (target.xmax = 0) AS inserted, to_jsonb(target) AS row) "
      "SELECT count(*) FILTER (WHERE inserted), coalesce(jsonb_agg(row), '[]')::text FROM written",
      quote_identifier(table), column_list, conflict);
  auto answer = db->query(sql, {body.dump()});
  if (!answer) {
    reply(response, database_error(answer.err()));
    return;
  }

  bool inserted_any = answer->text(0, 0) != "0";
  response.status = (merge || ignore) && !inserted_any ? 200 : 201;
  if (merge || ignore) {
    response.set_header("Preference-Applied",
                        merge ? "resolution=merge-duplicates" : "resolution=ignore-duplicates");
  }
  if (representation) {
    response.set_content(std::string(answer->text(0, 1)), "application/json; charset=utf-8");
  }
}

void postgrest_double::state::select_rows(const httplib::Request& request,
                                          httplib::Response& response) {
  std::string table = request.matches[1];
  borrowed db(pool);
  if (auto missing = table_missing(*db, table)) {
    reply(response, *missing);
    return;
  }
  auto known = table_columns(*db, table);
  auto unknown_column = [&](const std::string& column) -> std::optional<api_error> {
    if (std::find(known.begin(), known.end(), column) != known.end()) return std::nullopt;
    return api_error{400, "42703", fmt::format("column {}.{} does not exist", table, column),
                     nullptr, nullptr};
  };

  std::string select = "*";
  std::string where;
  std::string order;
  std::string limit;
  store::postgres::parameters values;
  for (const auto& [name, value] : request.params) {
    if (name == "select") {
      select.clear();
      for (const auto& column : split(value, ',')) {
        if (auto bad = unknown_column(column)) return reply(response, *bad);
        select += (select.empty() ? "" : ", ") + quote_identifier(column);
      }
    } else if (name == "order") {
      for (const auto& term : split(value, ',')) {
        auto parts = split(term, '.');
        if (auto bad = unknown_column(parts.front())) return reply(response, *bad);
        order += (order.empty() ? " ORDER BY " : ", ") + quote_identifier(parts.front());
        for (std::size_t i = 1; i < parts.size(); ++i) {
          if (parts[i] == "asc" || parts[i] == "desc") {
            order += " " + parts[i];
          } else if (parts[i] == "nullsfirst" || parts[i] == "nullslast") {
            order += parts[i] == "nullsfirst" ? " NULLS FIRST" : " NULLS LAST";
          } else {
            return reply(response,
                         {400, "PGRST100",
                          fmt::format("\"failed to parse order ({})\"", value), nullptr,
                          nullptr});
          }
        }
      }
    } else if (name == "limit" || name == "offset") {
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
        return reply(response, {400, "PGRST100",
                                fmt::format("\"failed to parse {} ({})\"", name, value), nullptr,
                                nullptr});
      }
      limit += fmt::format(" {} {}", name == "limit" ? "LIMIT" : "OFFSET", value);
    } else {
      if (value.rfind("eq.", 0) != 0) {
        return reply(response, {400, "PGRST100",
                                fmt::format("\"failed to parse filter ({})\"", value), nullptr,
                                nullptr});
      }
      if (auto bad = unknown_column(name)) return reply(response, *bad);
      values.push_back(value.substr(3));
      where += fmt::format("{}{} = ${}", where.empty() ? " WHERE " : " AND ",
                           quote_identifier(name), values.size());
    }
  }

  std::string sql =
      fmt::format("SELECT coalesce(json_agg(to_json(r)), '[]')::text FROM (SELECT {} FROM {}{}{}{}) r",
                  select, quote_identifier(table), where, order, limit);
  auto answer = db->query(sql, values);
  if (!answer) return reply(response, database_error(answer.err()));
  response.status = 200;
  response.set_content(std::string(answer->text(0, 0)), "application/json; charset=utf-8");
}

bool postgrest_double::state::answer_fault(httplib::Response& response) {
  auto next = take_fault();
  if (!next) return false;
  if (next->delay.count() > 0) std::this_thread::sleep_for(next->delay);
  if (next->status == 0) return false;
  // The body PostgREST 12 sends when it cannot reach the database.
  reply(response, {next->status, next->status == 503 ? "PGRST001" : "PGRSTX00",
                   "Database client error. Retrying the connection.",
                   "no connection to the server", nullptr});
  return true;
}

bool postgrest_double::state::reject_key(const httplib::Request& request,
                                         httplib::Response& response) const {
  auto rejected = check_key(request);
  if (!rejected) return false;
  response.set_header("WWW-Authenticate",
                      "Bearer error=\"invalid_token\", error_description=\"JWSError "
                      "JWSInvalidSignature\"");
  reply(response, *rejected);
  return true;
}

void postgrest_double::state::routes() {
  // Each route records its request and the status it returned.
  using member = void (state::*)(const httplib::Request&, httplib::Response&);
  auto route = [this](member handle) {
    return [this, handle](const httplib::Request& request, httplib::Response& response) {
      // Faults and the key check run here and not in a pre-routing handler, because httplib
      // reads the request body only after pre-routing. A reply sent before that leaves the body
      // on the kept-alive connection, where it corrupts the next request.
      if (!answer_fault(response) && !reject_key(request, response)) {
        try {
          (this->*handle)(request, response);
        } catch (const std::exception& failure) {
          reply(response, {500, "PGRSTX00", failure.what(), nullptr, nullptr});
        }
      }
      record(request, response.status);
    };
  };
  server.Post(R"(/rpc/([A-Za-z_][A-Za-z0-9_]*))", route(&state::call_function));
  server.Post(R"(/([A-Za-z_][A-Za-z0-9_]*))", route(&state::insert_rows));
  server.Get(R"(/([A-Za-z_][A-Za-z0-9_]*))", route(&state::select_rows));
}

postgrest_double::postgrest_double(std::string conninfo, std::string key)
    : state_(std::make_unique<state>(std::move(conninfo), std::move(key))) {
  {
    borrowed db(state_->pool);
    auto current = db->query("SELECT current_schema()");
    if (!current || current->is_null(0, 0)) {
      throw std::runtime_error("postgrest double: the connection has no current schema");
    }
    state_->schema = std::string(current->text(0, 0));
  }
  state_->routes();
  state_->port = state_->server.bind_to_any_port("127.0.0.1");
  if (state_->port <= 0) throw std::runtime_error("postgrest double: cannot bind 127.0.0.1");
  state_->thread = std::thread([this] { state_->server.listen_after_bind(); });
  while (!state_->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

postgrest_double::~postgrest_double() {
  state_->server.stop();
  if (state_->thread.joinable()) state_->thread.join();
}

std::string postgrest_double::url() const {
  return fmt::format("http://127.0.0.1:{}", state_->port);
}

void postgrest_double::fail_next(int count, int status) {
  std::lock_guard lock(state_->mutex);
  for (int i = 0; i < count; ++i) state_->faults.push_back({status, {}});
}

void postgrest_double::delay_next(int count, std::chrono::milliseconds delay) {
  std::lock_guard lock(state_->mutex);
  for (int i = 0; i < count; ++i) state_->faults.push_back({0, delay});
}

std::vector<std::string> postgrest_double::request_log() const {
  std::lock_guard lock(state_->mutex);
  return state_->log;
}

}  // namespace job_fetcher::testing
