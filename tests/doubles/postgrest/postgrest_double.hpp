// A PostgREST stand-in over a real PostgreSQL database, listening on 127.0.0.1 with an ephemeral
// port. It implements the subset job-fetcher uses with the status codes and error bodies of
// PostgREST 12:
//
//   POST /rpc/<function>   named JSON arguments; 200 with the result as JSON; 404 PGRST202 for an
//                          unknown function or argument names that match no function
//   POST /<table>          JSON object or array of objects; ?on_conflict=a,b; ?columns=a,b;
//                          Prefer: resolution=merge-duplicates|ignore-duplicates,
//                          return=minimal|representation; 201 Created, or 200 when an upsert
//                          inserted no row; 400 PGRST102 for an invalid body or objects whose keys
//                          differ; 400 PGRST204 for an unknown column
//   GET /<table>           ?select=a,b  ?<column>=eq.<value>  ?order=a.desc,b.asc  ?limit=n
//   any                    404 PGRST205 for an unknown table; 401 PGRST301 for a wrong key
//
// Database errors map to statuses as PostgREST documents: 23505 and 23503 give 409, 42P01 404,
// 08* and 53* 503, 25*, 40*, 5[4-8]*, P0*, XX* 500, and any other code (21000, the "ON CONFLICT DO
// UPDATE command cannot affect row a second time" of a batch that holds one id twice, included)
// gives 400.
//
// Faults: fail_next() answers the next requests with an error status and PostgREST's body for it
// before they reach the database; delay_next() holds them before handling.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace job_fetcher::testing {

class postgrest_double {
 public:
  // Starts serving the schema that `conninfo` selects (its search_path). Requests must carry
  // `apikey: KEY` or `Authorization: Bearer KEY`; a different key gets 401. Throws
  // std::runtime_error when the server cannot start or the database cannot be reached.
  postgrest_double(std::string conninfo, std::string key);
  postgrest_double(const postgrest_double&) = delete;
  postgrest_double& operator=(const postgrest_double&) = delete;
  ~postgrest_double();

  // "http://127.0.0.1:PORT"
  std::string url() const;

  // The next `count` requests get `status` (503 by default) with PostgREST's error body.
  void fail_next(int count, int status = 503);
  // The next `count` requests wait `delay` before they are handled.
  void delay_next(int count, std::chrono::milliseconds delay);

  // "METHOD /path status" of every request so far, in arrival order.
  std::vector<std::string> request_log() const;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace job_fetcher::testing
