#!/usr/bin/env bash
# Starts, stops or locates a throwaway PostgreSQL 15 cluster for the tests.
#
#   scripts/pg-cluster.sh start   initdb in a temp dir, listen on 127.0.0.1:<free port>, create the
#                                 database job_fetcher_test, write build/pg-cluster.env
#   scripts/pg-cluster.sh stop    stop the cluster and remove its directory and the env file
#   scripts/pg-cluster.sh halt    stop the server but keep its data and env file (an outage)
#   scripts/pg-cluster.sh resume  start the halted server again on the same port
#   scripts/pg-cluster.sh url     print the URL of the running cluster
#
# The env file holds JOB_FETCHER_TEST_PG_URL=postgres://USER@127.0.0.1:PORT/job_fetcher_test and
# can be sourced (`set -a; . build/pg-cluster.env; set +a`). PostgreSQL refuses to run as root, so
# as root the server runs as the operating-system user `postgres` when it exists, else as `jfci`
# (created with useradd). Authentication is trust, and the server listens on loopback only.
# Settings: PG_BIN (default /usr/lib/postgresql/15/bin), JOB_FETCHER_PG_ENV (env file path).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
env_file="${JOB_FETCHER_PG_ENV:-$repo_root/build/pg-cluster.env}"
db_user="job_fetcher"
db_name="job_fetcher_test"

die() { echo "pg-cluster: $*" >&2; exit 1; }

# Runs a command as the cluster's operating-system user.
as_owner() {
  if [[ "$(id -u)" -eq 0 ]]; then
    runuser -u "$os_user" -- "$@"
  else
    "$@"
  fi
}

pick_os_user() {
  if [[ "$(id -u)" -ne 0 ]]; then
    os_user="$(id -un)"
  elif id -u postgres >/dev/null 2>&1; then
    os_user=postgres
  else
    id -u jfci >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin jfci
    os_user=jfci
  fi
}

# Asks the kernel for a free loopback port by binding port 0.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

read_env_value() {
  [[ -f "$env_file" ]] || return 1
  sed -n "s/^$1=//p" "$env_file"
}

cluster_running() {
  local data_dir
  data_dir="$(read_env_value JOB_FETCHER_TEST_PG_DATA)" || return 1
  [[ -n "$data_dir" && -f "$data_dir/postmaster.pid" ]] || return 1
  pick_os_user
  as_owner "$pg_bin/pg_ctl" -D "$data_dir" status >/dev/null 2>&1
}

start() {
  [[ -x "$pg_bin/initdb" ]] || die "initdb not found in $pg_bin; install postgresql-15 or set PG_BIN"
  if cluster_running; then
    echo "pg-cluster: already running: $(read_env_value JOB_FETCHER_TEST_PG_URL)"
    return 0
  fi
  pick_os_user

  local base data_dir port url
  base="$(mktemp -d /tmp/job-fetcher-pg.XXXXXX)"
  data_dir="$base/data"
  chown "$os_user" "$base"
  chmod 700 "$base"
  as_owner "$pg_bin/initdb" -D "$data_dir" -U "$db_user" --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 >"$base/initdb.log" 2>&1 || { cat "$base/initdb.log" >&2; die "initdb failed"; }

  port="$(free_port)"
  cat >>"$data_dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$base'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  # Loopback TCP only, trust: the cluster is throwaway and reachable from this machine only.
  cat >"$data_dir/pg_hba.conf" <<HBA
local all all trust
host  all all 127.0.0.1/32 trust
HBA

  as_owner "$pg_bin/pg_ctl" -D "$data_dir" -l "$base/server.log" -w -t 60 start >/dev/null \
    || { cat "$base/server.log" >&2; die "pg_ctl start failed"; }
  as_owner "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U "$db_user" "$db_name"

  url="postgres://$db_user@127.0.0.1:$port/$db_name"
  mkdir -p "$(dirname "$env_file")"
  printf 'JOB_FETCHER_TEST_PG_URL=%s\nJOB_FETCHER_TEST_PG_DATA=%s\n' "$url" "$data_dir" >"$env_file"
  echo "$url"
}

stop() {
  local data_dir
  data_dir="$(read_env_value JOB_FETCHER_TEST_PG_DATA)" || { echo "pg-cluster: not running"; return 0; }
  pick_os_user
  if [[ -f "$data_dir/postmaster.pid" ]]; then
    as_owner "$pg_bin/pg_ctl" -D "$data_dir" -m immediate -w stop >/dev/null || true
  fi
  # The temp dir is the parent of the data dir and was made by start.
  case "$data_dir" in
    /tmp/job-fetcher-pg.*/data) rm -rf "$(dirname "$data_dir")" ;;
  esac
  rm -f "$env_file"
}

# Prints the data directory of the cluster in the env file, for halt and resume.
halted_data_dir() {
  local data_dir
  data_dir="$(read_env_value JOB_FETCHER_TEST_PG_DATA)" || die "no cluster; run: $0 start"
  [[ -d "$data_dir" ]] || die "the data directory $data_dir is missing; run: $0 stop, then $0 start"
  echo "$data_dir"
}

halt() {
  local data_dir
  data_dir="$(halted_data_dir)"
  pick_os_user
  as_owner "$pg_bin/pg_ctl" -D "$data_dir" -m fast -w stop >/dev/null
}

resume() {
  local data_dir
  data_dir="$(halted_data_dir)"
  pick_os_user
  as_owner "$pg_bin/pg_ctl" -D "$data_dir" -l "$(dirname "$data_dir")/server.log" -w -t 60 \
    start >/dev/null || die "pg_ctl start failed; see $(dirname "$data_dir")/server.log"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  halt) halt ;;
  resume) resume ;;
  url) read_env_value JOB_FETCHER_TEST_PG_URL || die "no cluster; run: $0 start" ;;
  *) echo "usage: $0 start|stop|halt|resume|url" >&2; exit 2 ;;
esac
