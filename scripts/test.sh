#!/usr/bin/env bash
# Builds job-fetcher and runs every test: unit tests, the store suite on SQLite, PostgreSQL and
# PostgREST (against a throwaway PostgreSQL 15 cluster on loopback that this script starts and
# removes), and the end-to-end tests against upwork-sim.
#
#   scripts/test.sh [PRESET]   PRESET is dev (default), ci or asan
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset="${1:-dev}"
cd "$repo_root"

scripts/setup.sh "$preset"

mkdir -p build
export JOB_FETCHER_PG_ENV="$repo_root/build/pg-cluster-$preset.env"
scripts/pg-cluster.sh start
trap 'scripts/pg-cluster.sh stop' EXIT
set -a
# shellcheck disable=SC1090
. "$JOB_FETCHER_PG_ENV"
set +a

ctest --preset "$preset" --output-on-failure -j 2
