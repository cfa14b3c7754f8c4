#!/usr/bin/env bash
# PostgreSQL stops in the middle of a run: the run must fail with error class store and exit 1,
# the feed's watermark must not move, and the first run after the restart must store every
# posting that was missed. Uses its own throwaway cluster, because the server is stopped.
#
#   tests/scenarios/pg_outage.sh BUILD_DIR
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
build="$(realpath "${1:?usage: pg_outage.sh BUILD_DIR}")"
data="${JOB_FETCHER_DATA_DIR:-$repo_root/../shared/data}/upwork/postings.jsonl"
fetcher="$build/apps/job-fetcher"
sim="$build/tools/upwork_sim/upwork-sim"

work="$(mktemp -d /tmp/job-fetcher-outage.XXXXXX)"
export JOB_FETCHER_PG_ENV="$work/pg.env"
sim_pid=""
run_pid=""
cleanup() {
  [[ -n "$run_pid" ]] && kill "$run_pid" 2>/dev/null
  [[ -n "$sim_pid" ]] && kill "$sim_pid" 2>/dev/null
  "$repo_root/scripts/pg-cluster.sh" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "pg_outage: FAILED: $*" >&2
  exit 1
}

"$repo_root/scripts/pg-cluster.sh" start >/dev/null
url="$("$repo_root/scripts/pg-cluster.sh" url)"
sql() { psql "$url" -XAtqc "$1"; }

# 100 postings published at the start, 300 ms per request, so a run of 8 pages takes seconds.
"$sim" --data "$data" --port 0 --published 100 --latency-ms 300 >"$work/sim.out" 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening ' "$work/sim.out" 2>/dev/null && break
  sleep 0.1
done
sim_url="$(sed -n 's/^listening //p' "$work/sim.out" | head -n 1)"
[[ -n "$sim_url" ]] || fail "upwork-sim did not start; see $work/sim.log"

export UPWORK_VISITOR_URL="$sim_url/api/graphql/v1?alias=visitorJobSearch"
export UPWORK_HOME_URL="$sim_url/"
export JOB_FETCHER_STORE="$url"
export JOB_FETCHER_BACKFILL=100 JOB_FETCHER_RATE=100 JOB_FETCHER_RATE_BURST=20
# A run that dies with the database cannot release its lease, so it must expire before the
# run after the restart.
export JOB_FETCHER_LEASE=3s

"$fetcher" migrate >/dev/null
"$fetcher" run --json >"$work/run1.json" || fail "the first run failed: $(cat "$work/run1.json")"
watermark_before="$(sql "SELECT watermark_at FROM fetch_state")"
[[ -n "$watermark_before" ]] || fail "the first run set no watermark"

curl -fsS -X POST "$sim_url/__sim/publish" -d '{"count": 400}' >/dev/null

# The second run must read 8 pages. Stop the server once it has committed 2 of them.
"$fetcher" run --json >"$work/run2.json" 2>"$work/run2.log" &
run_pid=$!
for _ in $(seq 1 200); do
  pages="$(sql "SELECT pages FROM fetch_runs ORDER BY id DESC LIMIT 1")"
  (( pages >= 2 )) && break
  sleep 0.05
done
(( pages >= 2 )) || fail "the second run committed no 2 pages within 10 s"
"$repo_root/scripts/pg-cluster.sh" halt
status=0
wait "$run_pid" || status=$?
run_pid=""

[[ "$status" -eq 1 ]] || fail "the run during the outage exited $status, expected 1: $(cat "$work/run2.json")"
python3 - "$work/run2.json" <<'PY' || fail "the run during the outage: $(cat "$work/run2.json")"
import json, sys
summary = json.load(open(sys.argv[1]))
assert summary["status"] == "failed", summary["status"]
assert summary["error_class"] == "store", summary["error_class"]
PY

"$repo_root/scripts/pg-cluster.sh" resume
stored_during="$(sql "SELECT count(*) FROM upwork_jobs")"
(( stored_during < 500 )) || fail "all 500 postings were stored although the server stopped"
[[ "$(sql "SELECT watermark_at FROM fetch_state")" == "$watermark_before" ]] \
  || fail "the watermark moved during the failed run"

sleep 3  # the dead run's lease expires
"$fetcher" run --json >"$work/run3.json" || fail "the run after the restart failed: $(cat "$work/run3.json")"

curl -fsS "$sim_url/__sim/published" >"$work/published.json"
sql "SELECT id FROM upwork_jobs" >"$work/stored.txt"
python3 - "$work/published.json" "$work/stored.txt" "$stored_during" <<'PY'
import json, sys
published = json.load(open(sys.argv[1]))
stored = open(sys.argv[2]).read().split()
missing = set(published) - set(stored)
assert len(published) == 500, f"the simulator lists {len(published)} postings, expected 500"
assert not missing, f"{len(missing)} published postings are missing, for example {sorted(missing)[:3]}"
assert len(stored) == len(set(stored)) == 500, f"{len(stored)} rows stored, expected 500"
print(f"pg_outage: ok: {sys.argv[3]} of 500 stored before the outage, 500 after the restart")
PY
