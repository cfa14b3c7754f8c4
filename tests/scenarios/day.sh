#!/usr/bin/env bash
# A simulated day of Upwork traffic against upwork-sim: job-fetcher runs every 5 simulated
# minutes, some runs are killed or skipped, and the store is compared with what was published.
#
#   tests/scenarios/day.sh BUILD_DIR [day.py options]
#
# Defaults play 6,000 postings at speed 288 (a day in about 5 minutes) with 5% faulty requests;
# `--speed 1440 --day-postings 1500` is a one-minute version. See day.py --help.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:?usage: day.sh BUILD_DIR [options]}"
shift
data="${JOB_FETCHER_DATA_DIR:-$here/../../../shared/data}/upwork/postings.jsonl"
exec python3 "$here/day.py" --build "$build" --data "$data" "$@"
