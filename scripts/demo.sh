#!/usr/bin/env bash
# Sets up job-fetcher, then runs the main job on its embedded default: the real job-fetcher against
# upwork-sim (a loopback stand-in for Upwork serving the bundled real postings) into SQLite, and
# shows what it stored. Needs no network access once the Debian packages are installed.
#
#   scripts/demo.sh [DATA_FILE]   DATA_FILE defaults to ../shared/data/upwork/postings.jsonl
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_file="${1:-$repo_root/../shared/data/upwork/postings.jsonl}"
cd "$repo_root"

[[ -r "$data_file" ]] || { echo "demo: cannot read the postings file $data_file" >&2; exit 1; }
scripts/setup.sh dev

build="$repo_root/build/dev"
demo_dir="$repo_root/build/demo"
mkdir -p "$demo_dir"
rm -f "$demo_dir"/job-fetcher.db*

# Start the simulator on a free loopback port and read its address from its first line.
sim_out="$demo_dir/upwork-sim.out"
rm -f "$sim_out"  # a previous demo's address must not be mistaken for this one's
"$build/tools/upwork_sim/upwork-sim" --data "$data_file" --port 0 >"$sim_out" 2>"$demo_dir/upwork-sim.log" &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q '^listening ' "$sim_out" 2>/dev/null && break
  sleep 0.1
done
sim_url="$(sed -n 's/^listening //p' "$sim_out" | head -n 1)"
[[ -n "$sim_url" ]] || { echo "demo: upwork-sim did not start; see $demo_dir/upwork-sim.log" >&2; exit 1; }

export UPWORK_VISITOR_URL="$sim_url/api/graphql/v1?alias=visitorJobSearch"
export UPWORK_HOME_URL="$sim_url/"
export JOB_FETCHER_STORE="sqlite:$demo_dir/job-fetcher.db"
# The simulator is local, so the politeness limit meant for the real Upwork is lifted.
export JOB_FETCHER_RATE=100 JOB_FETCHER_RATE_BURST=20

echo "== first run: backfill of the newest postings"
"$build/apps/job-fetcher" run
echo
echo "== 25 new postings appear upstream; the next run fetches only those"
curl -s -X POST "$sim_url/__sim/publish" -d '{"count": 25}' >/dev/null
"$build/apps/job-fetcher" run
echo
echo "== stored postings (newest 10 of $JOB_FETCHER_STORE)"
"$build/apps/job-fetcher" show --limit 10
echo
"$build/apps/job-fetcher" status --limit 5
