#!/usr/bin/env bash
# Benchmarks of job-fetcher: the Google Benchmark kernels, the PostgreSQL ingest benchmark and
# end-to-end runs of `job-fetcher run` against upwork-sim on 127.0.0.1. docs/benchmarks.md contains
# the results and explains each figure.
#
#   bench/run.sh [--build-dir DIR] [--repeats N] [--no-build] [SCENARIO...]
#
# Scenarios (default: all, in this order):
#   kernels       job-fetcher-bench (parse + normalize, content hash, clean_text, SQLite upserts)
#   ingest        job-fetcher-ingest-bench against PostgreSQL (JOB_FETCHER_TEST_PG_URL, or the
#                 cluster of scripts/pg-cluster.sh start); skipped when neither is there
#   incremental   (a) a run that finds 20 new postings, no injected latency
#   latency       (b) the same with 150 ms per API request
#   backfill      (c) a first run that stores 5,000 postings in 100 pages, 150 ms per request
#   backfill-no-latency  the same without injected latency: the per-page cost outside the wait
#   rss           peak RSS of backfills of 20, 50 and 100 pages
#   default-rate  (c) once at the default rate limit (1 request/s, burst 5)
#   cold-start    (d) process start to the first connection: job-fetcher run, and the Lambda
#                 package's bootstrap to its first /next request (in a chroot, needs root)
#
# Every scenario but default-rate sets JOB_FETCHER_RATE=1000 and JOB_FETCHER_RATE_BURST=100, so
# that the rate limit, a politeness budget for the real Upwork, does not set the figure.
#
# The build is Release (-O3) in build/bench unless --build-dir names another. GCC 12 reports a
# false -Wrestrict in std::string concatenation at -O3, so this build keeps that one warning but
# does not fail on it.
#
# Environment: UPWORK_SIM, another upwork-sim binary to run against.
#
# Results: BUILD_DIR/bench-results/<time>/ (results.jsonl, logs) and a summary on stdout.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_dir="$repo_root/bench"
build_dir="$repo_root/build/bench"
repeats=5
build=1
scenarios=()
latency_ms=150

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir="$(realpath -m "$2")"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) scenarios+=("$1"); shift ;;
  esac
done
if [[ ${#scenarios[@]} -eq 0 ]]; then
  scenarios=(kernels ingest incremental latency backfill backfill-no-latency rss default-rate
             cold-start)
fi

data_file="$repo_root/../shared/data/upwork/postings.jsonl"
if [[ -f "$build_dir/CMakeCache.txt" ]]; then
  cached="$(sed -n 's/^JOB_FETCHER_DATA_DIR:PATH=//p' "$build_dir/CMakeCache.txt")"
  [[ -n "$cached" ]] && data_file="$cached/upwork/postings.jsonl"
fi

results_dir="$build_dir/bench-results/$(date -u +%Y%m%dT%H%M%SZ)"
work="$(mktemp -d)"
results="$results_dir/results.jsonl"
sim_pid=""

cleanup() {
  if [[ -n "$sim_pid" ]]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

log() { echo "== $*"; }

# Step 1: build.
if [[ $build -eq 1 ]]; then
  log "building (Release) in $build_dir"
  cmake -S "$repo_root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DJOB_FETCHER_BENCH=ON -DJOB_FETCHER_TESTS=ON -DCMAKE_CXX_FLAGS="-Wno-error=restrict" >/dev/null
  targets=(job-fetcher upwork-sim job-fetcher-bench job-fetcher-ingest-bench job-fetcher-rusage)
  for scenario in "${scenarios[@]}"; do
    [[ "$scenario" == cold-start ]] && targets+=(lambda-package)
  done
  cmake --build "$build_dir" --target "${targets[@]}" -j2
fi
fetcher="$build_dir/apps/job-fetcher"
# UPWORK_SIM overrides the simulator binary, to compare a changed simulator on the same build.
sim="${UPWORK_SIM:-$build_dir/tools/upwork_sim/upwork-sim}"
launcher="$build_dir/bench/job-fetcher-rusage"
mkdir -p "$results_dir"

# Step 2: the machine, once.
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
  echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
  echo "kernel: $(uname -r)"
  echo "compiler: $(c++ --version | head -n 1)"
  echo "build type: $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build_dir/CMakeCache.txt")"
  echo "uptime: $(uptime)"
} | tee "$results_dir/machine.txt"

# Starts upwork-sim on 127.0.0.1, port 0, and sets sim_pid and sim_url.
# Arguments: DATA_FILE LATENCY_MS [more upwork-sim options].
start_sim() {
  local data="$1" latency="$2"
  shift 2
  local out="$work/sim.out"
  local args=(--data "$data" --port 0 --exit-with-parent)
  [[ "$latency" -gt 0 ]] && args+=(--latency-ms "$latency")
  "$sim" "${args[@]}" "$@" >"$out" 2>"$results_dir/sim.log" &
  sim_pid=$!
  for _ in $(seq 200); do
    local line
    line="$(head -n 1 "$out" 2>/dev/null || true)"
    if [[ "$line" == listening* ]]; then
      sim_url="${line#listening }"
      return 0
    fi
    sleep 0.05
  done
  echo "run.sh: upwork-sim did not start; see $results_dir/sim.log" >&2
  exit 1
}

stop_sim() {
  kill "$sim_pid" 2>/dev/null || true
  wait "$sim_pid" 2>/dev/null || true
  sim_pid=""
}

publish() {
  curl -sf -X POST -H 'Content-Type: application/json' -d "{\"count\": $1}" \
    "$sim_url/__sim/publish" >/dev/null
}

# The environment of a job-fetcher run against the simulator. Argument: the SQLite file.
fetch_env() {
  echo "JOB_FETCHER_STORE=sqlite:$1"
  echo "JOB_FETCHER_FEED=bench"
  echo "UPWORK_SOURCE=visitor"
  echo "UPWORK_HOME_URL=$sim_url/"
  echo "UPWORK_VISITOR_URL=$sim_url/api/graphql/v1?alias=visitorJobSearch"
  echo "UPWORK_MARKETPLACE_URL=$sim_url/graphql"
  echo "UPWORK_TOKEN_URL=$sim_url/api/v3/oauth2/token"
  if [[ "${default_rate:-0}" -eq 0 ]]; then
    echo "JOB_FETCHER_RATE=1000"
    echo "JOB_FETCHER_RATE_BURST=100"
  fi
}

# Runs `job-fetcher run --json` once under the launcher and records it.
# Arguments: LABEL DB LATENCY_MS [more job-fetcher run options].
measure_run() {
  local label="$1" db="$2" latency="$3"
  shift 3
  local env_args
  mapfile -t env_args < <(fetch_env "$db")
  python3 "$bench_dir/measure.py" run --launcher "$launcher" --out "$results" --label "$label" \
    --sim "$sim_url" --latency-ms "$latency" --stdout "$work/summary.json" \
    -- env "${env_args[@]}" "$fetcher" run --json "$@" 2>>"$results_dir/job-fetcher.log" >/dev/null
  cat "$work/summary.json" >>"$results_dir/summaries.jsonl"
}

# Runs `job-fetcher run` once under /usr/bin/time -v, so its own report is on file next to ours.
time_v_sample() {
  local label="$1" db="$2"
  shift 2
  local env_args
  mapfile -t env_args < <(fetch_env "$db")
  /usr/bin/time -v -o "$results_dir/time-v.$label.txt" \
    env "${env_args[@]}" "$fetcher" run --json "$@" >/dev/null 2>>"$results_dir/job-fetcher.log"
}

# (a) and (b): each repetition starts a new simulator and SQLite file, stores the default backfill
# with a first run, publishes 20 postings and measures the run that finds them. A simulator per
# repetition keeps the earlier batches out of the 2-minute skew window below the watermark: batches
# published seconds apart would all fall inside it and make later runs read more pages.
incremental() {
  local label="$1" latency="$2"
  log "$label: incremental runs with 20 new postings, latency ${latency} ms, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  for i in $(seq "$((repeats + 1))"); do
    start_sim "$data_file" "$latency"
    local db="$work/$label.$i.db"
    measure_run "$label-first-run" "$db" "$latency"
    publish 20
    if [[ $i -le $repeats ]]; then
      measure_run "$label" "$db" "$latency"
    else
      time_v_sample "$label" "$db"
    fi
    stop_sim
  done
}

# A data file of 5,300 postings: 5,000 published, the rest in the simulator's pool.
backfill_data() {
  local file="$work/postings-5300.jsonl"
  [[ -f "$file" ]] || python3 "$bench_dir/make_sim_data.py" "$data_file" 5300 "$file"
  echo "$file"
}

# (c) and the RSS series: first runs of a feed (a new SQLite file each) over PAGES pages.
backfill() {
  local label="$1" pages="$2" count="$3"
  log "$label: backfill of $((pages * 50)) postings in $pages pages, latency ${latency_ms} ms, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  start_sim "$(backfill_data)" "$latency_ms"
  for i in $(seq "$count"); do
    measure_run "$label" "$work/$label.$i.db" "$latency_ms" \
      --backfill "$((pages * 50))" --max-pages "$pages"
  done
  if [[ "$label" == backfill ]]; then
    time_v_sample "$label" "$work/$label.time-v.db" --backfill "$((pages * 50))" --max-pages "$pages"
  fi
  stop_sim
}

kernels() {
  log "kernels: job-fetcher-bench, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$build_dir/bench/job-fetcher-bench" --benchmark_repetitions="$repeats" \
    --benchmark_report_aggregates_only=true --benchmark_min_time=0.5 \
    --benchmark_out="$results_dir/kernels.json" --benchmark_out_format=json |
    tee "$results_dir/kernels.txt"
}

ingest() {
  if [[ -z "${JOB_FETCHER_TEST_PG_URL:-}" && -f "$repo_root/build/pg-cluster.env" ]]; then
    set -a
    # shellcheck disable=SC1091
    . "$repo_root/build/pg-cluster.env"
    set +a
  fi
  if [[ -z "${JOB_FETCHER_TEST_PG_URL:-}" ]]; then
    log "ingest: SKIPPED, no JOB_FETCHER_TEST_PG_URL and no build/pg-cluster.env (scripts/pg-cluster.sh start)"
    return 0
  fi
  local runs=$(( repeats < 3 ? repeats : 3 ))
  for i in $(seq "$runs"); do
    log "ingest: run $i of $runs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
    "$build_dir/bench/job-fetcher-ingest-bench" | tee -a "$results_dir/ingest.txt"
  done
}

# (d): a listener on 127.0.0.1 replaces the first server each program calls. Each round of
# job-fetcher run uses its own feed and token name, because the killed round before it still holds
# that feed's lease and the token-minting lease.
cold_start() {
  local db="$work/cold.db"
  log "cold-start: reference, bash connecting with /dev/tcp, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 "$bench_dir/first_connect.py" --rounds 20 -- \
    bash -c 'exec 3<>"/dev/tcp/127.0.0.1/${0#*:}"; sleep 10' '{addr}' |
    tee "$results_dir/cold-start.reference.txt" | tail -n 1

  log "cold-start: job-fetcher run (build tree) to its first Upwork request, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 "$bench_dir/first_connect.py" --rounds 20 \
    --env "JOB_FETCHER_STORE=sqlite:$db" --env "JOB_FETCHER_FEED=cold-{n}" \
    --env "UPWORK_TOKEN_NAME=cold-{n}" \
    --env "UPWORK_SOURCE=visitor" --env "UPWORK_HOME_URL=http://{addr}/" \
    --env "UPWORK_VISITOR_URL=http://{addr}/api/graphql/v1?alias=visitorJobSearch" \
    --env "JOB_FETCHER_MAX_ATTEMPTS=1" -- "$fetcher" run |
    tee "$results_dir/cold-start.run.txt" | tail -n 1

  log "cold-start: job-fetcher as a Lambda runtime (build tree) to its first /next, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 "$bench_dir/first_connect.py" --rounds 20 --clean-env \
    --env "AWS_LAMBDA_RUNTIME_API={addr}" --env "_HANDLER=fetch" --env "TZ=UTC" \
    --env "JOB_FETCHER_STORE=sqlite:$db" --env "UPWORK_HOME_URL=http://127.0.0.1:9/" \
    --env "UPWORK_VISITOR_URL=http://127.0.0.1:9/api/graphql/v1" -- "$fetcher" |
    tee "$results_dir/cold-start.lambda-build-tree.txt" | tail -n 1

  local zip
  zip="$(ls "$build_dir"/job-fetcher-lambda.zip 2>/dev/null || true)"
  if [[ -z "$zip" || "$(id -u)" -ne 0 ]]; then
    log "cold-start: package SKIPPED (needs the lambda-package target and root for chroot)"
    return 0
  fi
  # The package unpacked at /var/task of an otherwise empty root, as tests/package does it.
  local root="$work/lambda-root"
  mkdir -p "$root/var/task" "$root/dev" "$root/tmp" "$root/etc/pki/tls/certs"
  unzip -q "$zip" -d "$root/var/task"
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/pki/tls/certs/ca-bundle.crt"
  mknod -m 666 "$root/dev/null" c 1 3
  mknod -m 444 "$root/dev/urandom" c 1 9
  chmod 1777 "$root/tmp"
  log "cold-start: Lambda package bootstrap in a chroot to its first /next, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 "$bench_dir/first_connect.py" --rounds 20 --clean-env \
    --env "AWS_LAMBDA_RUNTIME_API={addr}" --env "LAMBDA_TASK_ROOT=/var/task" \
    --env "_HANDLER=fetch" --env "TZ=UTC" --env "JOB_FETCHER_STORE=sqlite:/tmp/job-fetcher.db" \
    --env "UPWORK_HOME_URL=http://127.0.0.1:9/" \
    --env "UPWORK_VISITOR_URL=http://127.0.0.1:9/api/graphql/v1" \
    -- "$(command -v chroot)" "$root" /var/task/bootstrap |
    tee "$results_dir/cold-start.lambda-package.txt" | tail -n 1
}

for scenario in "${scenarios[@]}"; do
  case "$scenario" in
    kernels) kernels ;;
    ingest) ingest ;;
    incremental) incremental incremental 0 ;;
    latency) incremental latency "$latency_ms" ;;
    backfill) backfill backfill 100 "$repeats" ;;
    backfill-no-latency) latency_ms=0 backfill backfill-no-latency 100 3 ;;
    rss) backfill rss-20-pages 20 3; backfill rss-50-pages 50 3 ;;
    default-rate) default_rate=1 backfill backfill-default-rate 100 1 ;;
    cold-start) cold_start ;;
    *) echo "run.sh: unknown scenario $scenario (see --help)" >&2; exit 2 ;;
  esac
done

if [[ -f "$results" ]]; then
  log "summary (medians; floor_ms = API requests x injected latency)"
  python3 "$bench_dir/measure.py" summary "$results" | tee "$results_dir/summary.txt"
fi
echo "results: $results_dir"
