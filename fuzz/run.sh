#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time, two at a time, each from its seed corpus.
#
#   fuzz/run.sh SECONDS [BUILD_DIR]     BUILD_DIR defaults to build/fuzz
#
# Crashing inputs land in BUILD_DIR/fuzz-artifacts/<target>/; the script exits 1 when any
# target found one. New coverage inputs are added to BUILD_DIR/fuzz-corpus/<target>/.
set -euo pipefail

seconds="${1:?usage: fuzz/run.sh SECONDS [BUILD_DIR]}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${2:-$repo_root/build/fuzz}"
data="${JOB_FETCHER_DATA_DIR:-$repo_root/../shared/data}/upwork/postings.jsonl"
targets=(fuzz_visitor_page fuzz_marketplace_page fuzz_fetch_event fuzz_token_response
         fuzz_feeds_file)
jobs="${FUZZ_JOBS:-2}"

corpus="$build/fuzz-corpus"
if [[ ! -d "$corpus" ]]; then
  python3 "$repo_root/fuzz/make_corpus.py" "$data" "$corpus"
fi

run_target() {
  local target="$1"
  local artifacts="$build/fuzz-artifacts/$target"
  mkdir -p "$artifacts" "$corpus/$target"
  # -rss_limit_mb bounds memory; -max_len 64 KiB keeps whole pages of several postings possible.
  if "$build/fuzz/$target" "$corpus/$target" -max_total_time="$seconds" -max_len=65536 \
      -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$artifacts/" -print_final_stats=1 \
      > "$build/fuzz-artifacts/$target.log" 2>&1; then
    echo "$target: no crash in ${seconds}s ($(grep -m1 'stat::number_of_executed_units' \
      "$build/fuzz-artifacts/$target.log" | awk '{print $2}') runs)"
  else
    echo "$target: FAILED, see $build/fuzz-artifacts/$target.log"
    return 1
  fi
}

failed=0
pids=()
for target in "${targets[@]}"; do
  run_target "$target" &
  pids+=("$!")
  if (( ${#pids[@]} >= jobs )); then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
exit "$failed"
